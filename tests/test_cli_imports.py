"""What a command-line run imports (issue 21: seconds of every run): the CLI reads each notebook's parameters without
papermill (the same parameters papermill's own inspection gives, for every investigation's notebook), and the login
and reboot investigations import Altair only when a chart is drawn."""
import papermill
import pytest

from trailtools.investigations import registry


@pytest.mark.parametrize("name", list(registry.INVESTIGATIONS))
def test_parameters_as_papermill_reads_them(name):
    inv = registry.get(name)
    theirs = [registry.Parameter(p["name"], p["inferred_type_name"], p["default"], p["help"])
              for p in papermill.inspect_notebook(str(inv.notebook_path)).values()]
    assert inv.parameters() == theirs
    assert len(theirs) >= 3


def _imported(code: str, *modules: str) -> list[str]:
    import subprocess
    import sys

    code += "; import sys; print(*[m in sys.modules for m in " + repr(list(modules)) + "])"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()


def test_the_cli_does_not_import_papermill():
    assert _imported("from trailtools import cli; cli.parser()", "papermill", "nbformat") == ["False", "False"]


def test_charts_import_altair_when_drawn():
    code = ("from trailtools.investigations.login.gather import investigate as login; "
            "from trailtools.investigations.reboot.gather import investigate as reboot; "
            "inv = login(source='demo', start='2026-10-07', end='2026-10-15')")
    assert _imported(code, "altair") == ["False"]
    code += "; import altair as alt; chart = inv.timeline(); print(alt.renderers.active)"
    assert _imported(code, "altair") == ["trailtools", "True"]
