"""The suspicious-login investigation end to end: the Python API, the notebook under papermill, the report."""
import datetime as dt
import html
import json

import nbformat
import papermill

from conftest import ROOT
from trailtools import report
from trailtools.findings_schema import validate
from trailtools.login_investigation import investigate


def test_demo_window_ranks_the_planted_login_first():
    inv = investigate()
    top = inv.findings[0]
    assert top.check == "login.session" and top.severity in ("high", "critical")
    assert top.extra["principal"] == "emma.wilson"
    actions = inv.risky_actions()
    assert {"CreateAccessKey", "AttachUserPolicy", "StopLogging"} <= set(actions["eventName"])
    drill = inv.session_events(0).frame
    assert list(drill["eventName"])[-1] == "StopLogging"


def test_notebook_runs_headless(tmp_path):
    out = tmp_path / "out.ipynb"
    papermill.execute_notebook(str(ROOT / "notebooks" / "suspicious_login.ipynb"), str(out),
                               parameters={"start": "2026-10-08"}, kernel_name="python3", progress_bar=False)
    nb = nbformat.read(out, as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    htmls = [html.unescape(o["data"].get("text/html", "")) for o in outputs if "data" in o]
    summary = next(h for h in htmls if "trailtools-verdict" in h)
    assert "emma.wilson signed in without MFA" in summary
    assert any("vega" in h.lower() for h in htmls)


def test_login_report(tmp_path):
    now = dt.datetime(2026, 11, 27, 12, tzinfo=dt.timezone.utc)
    paths = report.run("login", {"start": "2026-10-08"}, out_dir=tmp_path, now=now)
    assert paths.html.name == "suspicious_login-all-20261127T120000Z.html"
    doc = json.loads(paths.findings.read_text())
    assert validate(doc) == [] and doc["investigation"] == "login" and doc["verdict"] is None
    assert doc["findings"][0]["principal"] == "emma.wilson"
    assert "emma.wilson" in paths.html.read_text()
