"""The offline renderer: charts show in JupyterLab from vl-convert's Vega bundle (never a CDN) and keep their spec
for the HTML reports. (That they really draw in JupyterLab with the network blocked: tests/test_lab_browser.py.)"""
from __future__ import annotations

import re

import altair as alt
import pandas as pd
import pytest
from altair import JupyterChart

import trailtools.views.offline  # noqa: F401  (enables the renderer; every chart module imports it)
from trailtools.report.html import render_html
from trailtools.views import offline
from trailtools.views.offline import VEGALITE_MIME, WIDGET_MIME

pytestmark = pytest.mark.slow  # runs notebooks or a browser: `make test`, not `make test-fast`


def _chart():
    return alt.Chart(pd.DataFrame({"who": ["</script><b>x</b>", "bob"], "n": [1, 2]})).mark_bar().encode(
        x="n:Q", y="who:N")


@pytest.fixture
def fresh_jupyterchart(monkeypatch):
    """JupyterChart as if no chart had been shown in this process yet (restored afterwards)."""
    monkeypatch.setattr(JupyterChart, "_is_offline", False)
    monkeypatch.setattr(JupyterChart, "_esm", JupyterChart._esm)


def test_importing_the_views_enables_it():
    assert alt.renderers.active == offline.RENDERER


def test_bundle_holds_the_offline_widget_the_spec_and_fallbacks(fresh_jupyterchart):
    chart = _chart()
    bundle = chart._repr_mimebundle_()
    bundle = bundle[0] if isinstance(bundle, tuple) else bundle
    assert {WIDGET_MIME, VEGALITE_MIME, "text/html"} <= set(bundle)  # IPython adds text/plain
    assert bundle[VEGALITE_MIME] == chart.to_dict()
    assert JupyterChart._is_offline
    esm = JupyterChart._esm
    assert len(esm) > 500_000 and "esm.sh" not in esm  # Vega, Vega-Lite and vega-embed inside, not from esm.sh
    assert not re.search(r"""(from\s*|import\s*\(\s*)["'](https?:)?//""", esm), "the module imports from the network"


def test_the_bundle_is_cached_on_disk_and_reused(fresh_jupyterchart, tmp_path, monkeypatch):
    monkeypatch.setenv("TRAILTOOLS_CACHE_DIR", str(tmp_path))
    offline.jupyterchart_offline()
    cached = list((tmp_path / "vega").glob("jupyterchart-*.js"))
    assert len(cached) == 1 and cached[0].read_text(encoding="utf-8") == JupyterChart._esm
    cached[0].write_text("/* from the cache */", encoding="utf-8")
    monkeypatch.setattr(JupyterChart, "_is_offline", False)
    offline.jupyterchart_offline()
    assert JupyterChart._esm == "/* from the cache */"


def test_disable_goes_back_to_altairs_default():
    try:
        offline.enable_offline(False)
        assert alt.renderers.active == "default"
    finally:
        offline.enable_offline()
    assert alt.renderers.active == offline.RENDERER


def test_the_report_draws_the_spec_not_the_widget(fresh_jupyterchart):
    from nbformat.v4 import new_code_cell, new_notebook, new_output

    bundle = _chart()._repr_mimebundle_()
    bundle = bundle[0] if isinstance(bundle, tuple) else bundle
    nb = new_notebook(cells=[new_code_cell("chart", outputs=[new_output("display_data", data=bundle)])])
    page = render_html(nb, title="t")
    assert page.count('<div class="chart" id="chart-') == 1
    assert "model_id" not in page and "</script><b>" not in page
    assert "\\u003c/script\\u003e\\u003cb\\u003ex" in page  # the data, escaped inside the spec's <script>


def test_a_report_kernel_draws_charts_as_their_spec_only(monkeypatch):
    """In a kernel `trailtools report` starts (STATIC_ENV set), a chart is its spec and a text: no widget, whose
    state (the Vega bundle) would be saved into the executed notebook after every cell."""
    monkeypatch.setenv(offline.STATIC_ENV, "1")
    try:
        offline.enable_offline()
        assert alt.renderers.active == offline.STATIC_RENDERER
        bundle = _chart()._repr_mimebundle_()
        bundle = bundle[0] if isinstance(bundle, tuple) else bundle
        assert set(bundle) == {VEGALITE_MIME, "text/plain"}
    finally:
        monkeypatch.delenv(offline.STATIC_ENV)
        offline.enable_offline()
    assert alt.renderers.active == offline.RENDERER


def test_the_vega_bundle_is_built_once_and_kept(tmp_path, monkeypatch):
    import vl_convert

    monkeypatch.setenv("TRAILTOOLS_CACHE_DIR", str(tmp_path))
    calls = []
    real = vl_convert.javascript_bundle
    monkeypatch.setattr(vl_convert, "javascript_bundle", lambda: calls.append(1) or real())
    first = offline.vega_bundle()
    assert offline.vega_bundle() == first and len(calls) == 1 and "vegaEmbed" in first
    cached = next(tmp_path.rglob("bundle-*.js"))
    cached.write_text(first[:1000], encoding="utf-8")  # cut short (a crash while writing): built again
    assert offline.vega_bundle() == first and len(calls) == 2


@pytest.mark.parametrize("static", [True, False])
def test_only_a_report_kernel_skips_the_iri_grammars(static):
    """In a report's kernel (STATIC_ENV), importing trailtools keeps jsonschema from building rfc3987_syntax's
    grammars (a second of CPU; no Vega-Lite schema has an "iri" format) and charts still validate; elsewhere
    nothing changes."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != offline.STATIC_ENV}
    if static:
        env[offline.STATIC_ENV] = "1"
    code = ("import sys, trailtools.views, altair as alt, pandas as pd\n"
            "alt.Chart(pd.DataFrame({'a': [1]})).mark_point().encode(x='a:Q').to_dict()\n"
            "print(repr(sys.modules.get('rfc3987_syntax', 'absent')))")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    blocked = done.stdout.strip() == "None"
    assert blocked == static, done.stdout
