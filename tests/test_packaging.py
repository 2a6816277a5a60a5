"""The set-up files agree with each other: one list of dependencies, and CI runs what the README says."""
import json
import os
import re
import subprocess
import sys
import tomllib
import zipfile

import pytest
from conftest import ROOT

# pip name -> conda-forge name, where they differ
CONDA_NAMES = {"isal": "python-isal", "duckdb": "python-duckdb"}


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


@pytest.mark.slow
def test_the_built_wheel_runs_a_report_outside_the_checkout(tmp_path):
    """`pip install` of the wheel, then `trailtools report` from another folder: the notebooks ship in the package."""
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w",
                    str(wheels), str(ROOT)], check=True, capture_output=True)
    (wheel,) = wheels.glob("trailtools-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for nb in ("reboot.ipynb", "suspicious_login.ipynb", "cost_spike.ipynb", "explore.ipynb"):
        assert f"trailtools/notebooks/{nb}" in names
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site),
                    str(wheel)], check=True, capture_output=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    where = subprocess.run([sys.executable, "-c", "import trailtools; print(trailtools.__file__)"], cwd=elsewhere,
                           env=env, capture_output=True, text=True, check=True).stdout
    assert where.startswith(str(site)), where
    run = subprocess.run([sys.executable, "-m", "trailtools", "report", "reboot", "-p", "instance",
                          "i-0b81f3d6c2e9a4775", "--out", "out"], cwd=elsewhere, env=env, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    (findings,) = (elsewhere / "out").glob("*.findings.json")
    doc = json.loads(findings.read_text())
    assert doc["parameters"]["instance"] == "i-0b81f3d6c2e9a4775"
    assert doc["verdict"]["cause"] == "aws-host-failure"
