"""The suspicious-login investigation end to end: the Python API, the notebook under papermill, the report."""
import datetime as dt
import html
import json

import nbformat
import papermill
import pytest
from conftest import ROOT
from test_geoip import demo_databases

from trailtools.errors import QueryError, TrailtoolsError
from trailtools.findings.schema import validate
from trailtools.investigations.login.gather import investigate
from trailtools.report import run as report
from trailtools.sources.resolve import resolve_source

pytestmark = pytest.mark.slow  # runs notebooks or a browser: `make test`, not `make test-fast`


def _demo_databases(tmp_path):
    """A City and an ASN .mmdb from the demo's geo/ip-locations.csv, and the demo's jump-host secure log."""
    folder = resolve_source("demo").folder
    city, asn = demo_databases(folder, tmp_path)
    return city, asn, str(folder / "oslogs" / "i-0f2a6c8e4b1d97a35" / "var" / "log" / "secure")


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
    """With every optional input given: GeoIP and ASN databases, the jump host's secure log, business hours."""
    city, asn, secure = _demo_databases(tmp_path)
    out = tmp_path / "out.ipynb"
    papermill.execute_notebook(str(ROOT / "notebooks" / "suspicious_login.ipynb"), str(out),
                               parameters={"start": "2026-10-08", "geoip_db": city, "asn_db": asn, "os_logs": secure,
                                           "business_hours": "08:00-18:00", "timezone": "America/New_York"},
                               kernel_name="python3", progress_bar=False)
    nb = nbformat.read(out, as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    htmls = [html.unescape(o["data"].get("text/html", "")) for o in outputs if "data" in o]
    summary = next(h for h in htmls if "trailtools-verdict" in h)
    assert "emma.wilson signed in without MFA" in summary and "from a new country (NL)" in summary
    assert not [w for w in ("No GeoIP", "No ASN", "No business_hours", "No guest logs") if w in summary]
    assert any("vega" in h.lower() for h in htmls)
    checks = next(h for h in htmls if "how / why not" in h)
    assert ">no<" not in checks.replace(" ", "") and "America/New_York" in checks and "sshd attempts" in checks
    assert any("Accepted" not in h and "ec2-user" in h and "invalid_user" in h for h in htmls)   # the SSH table


def test_timeline_shows_the_jump_hosts_ssh_logins(tmp_path):
    city, asn, secure = _demo_databases(tmp_path)
    inv = investigate(os_logs=secure)
    spec = inv.timeline().to_dict()
    rows = [r for d in spec["datasets"].values() for r in d if isinstance(r, dict) and r.get("mfa") == "SSH"]
    lo, hi = inv.window
    in_window = inv.analysis.ssh[(inv.analysis.ssh["time"] >= lo) & (inv.analysis.ssh["time"] < hi)]
    assert rows and len(rows) == len(in_window)
    want = {"SSH accepted" if r == "Accepted" else "SSH failed" for r in in_window["result"]}
    assert {r["kind"] for r in rows} == want
    assert all(r["principal"].startswith("ssh @ ") for r in rows)


def test_parameters_are_checked_before_loading(tmp_path):
    for kwargs, kind, words in [({"business_hours": "9 to 5"}, QueryError, "business_hours '9 to 5'"),
                                ({"business_hours": "09:00-17:00", "timezone": "CET+1"}, QueryError, "timezone"),
                                ({"geoip_db": str(tmp_path / "no.mmdb")}, TrailtoolsError, "does not exist"),
                                ({"os_logs": str(tmp_path / "secure")}, TrailtoolsError, "Guest log not found")]:
        with pytest.raises(kind) as err:
            investigate(**kwargs)
        assert words in str(err.value) and "\n" not in str(err.value)


def test_login_report(tmp_path):
    now = dt.datetime(2026, 11, 27, 12, tzinfo=dt.UTC)
    paths = report.run("login", {"start": "2026-10-08"}, out_dir=tmp_path, now=now)
    assert paths.html.name == "suspicious_login-all-20261127T120000Z.html"
    doc = json.loads(paths.findings.read_text())
    assert validate(doc) == [] and doc["investigation"] == "login" and doc["verdict"] is None
    assert doc["findings"][0]["principal"] == "emma.wilson"
    assert "emma.wilson" in paths.html.read_text()
    assert {s["name"]: s["status"] for s in doc["sources"]} == {
        "CloudTrail": "consulted", "GeoIP/ASN": "unavailable", "Guest OS logs (SSH)": "unavailable"}
    # the window holds incident 6's stopped logging: the report's findings, appendix and timeline say so
    assert {"coverage.StopLogging", "coverage.no-deliveries"} <= {f["check"] for f in doc["findings"]}
    gaps = doc["provenance"]["coverage"]["gaps"]
    assert any(g["start"] == "2026-10-11T02:23:37Z" and g["end"] == "2026-10-11T14:02:51Z" for g in gaps)
    assert "Logging coverage" in paths.html.read_text()
