"""The set-up files agree with each other: one list of dependencies, and CI runs what the README says."""
import re
import tomllib

from conftest import ROOT

# pip name -> conda-forge name, where they differ
CONDA_NAMES = {"isal": "python-isal"}


def _name(req: str) -> str:
    return re.split(r"[<>=!~\[; :]", req.strip(), maxsplit=1)[0].lower()  # extras ([server]) are pip-only


def _pyproject_requirements() -> dict[str, str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    reqs = list(data["project"]["dependencies"]) + list(data["project"]["optional-dependencies"]["test"])
    return {CONDA_NAMES.get(_name(r), _name(r)): r for r in reqs}


def _environment_requirements() -> dict[str, str]:
    out = {}
    text = (ROOT / "environment.yml").read_text()
    for line in text.split("dependencies:", 1)[1].splitlines():
        # conda packages ("  - name>=x"), and pip-only ones in the pip section ("      - name>=x")
        m = re.match(r"^(?:  |      )- ([A-Za-z0-9_.-]+[^#]*)", line)
        if m and _name(m.group(1)) not in ("python", "pip", "-e"):
            out[_name(m.group(1))] = m.group(1).strip()
    return out


def test_environment_yml_names_the_same_dependencies_as_pyproject():
    py, env = _pyproject_requirements(), _environment_requirements()
    assert sorted(env) == sorted(py)
    for name, req in py.items():  # and the same lower bounds
        bound = re.search(r">=\s*([0-9.]+)", req)
        assert bound, f"{req} has no pinned lower bound"
        assert f">={bound.group(1)}" in env[name].replace(" ", ""), (name, req, env[name])


def test_environment_yml_installs_the_package():
    assert re.search(r"^\s+- -e \.$", (ROOT / "environment.yml").read_text(), re.M)


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "make test" in ci and "make test" in readme and "make demo" in readme


def test_generated_reports_are_ignored():
    ignore = (ROOT / ".gitignore").read_text().split()
    assert "reports/*" in ignore and ".venv/" in ignore
