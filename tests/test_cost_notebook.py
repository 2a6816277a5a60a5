"""The cost-spike investigation end to end: notebooks/cost_spike.ipynb under papermill through `trailtools report
cost` (HTML + findings JSON) on the demo account, attacker-controlled tags in a CUR through the same path, and the
`trailtools cost` command."""
from __future__ import annotations

import datetime as dt
import html
import json

import cost_fixtures as F
import nbformat
import pytest
from conftest import CHROMIUM
from test_report_html import PAYLOADS, Opened

from trailtools import cli
from trailtools.findings.schema import validate
from trailtools.report import run as report

pytestmark = pytest.mark.slow  # runs notebooks or a browser: `make test`, not `make test-fast`

HENRY = "arn:aws:sts::314159265358:assumed-role/AWSReservedSSO_DeveloperAccess_32cf9bf287f095e9/henry.park@example.com"


def _outputs(path):
    nb = nbformat.read(path, as_version=4)
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]


def test_cost_report_on_the_demo_account(tmp_path):
    now = dt.datetime(2026, 11, 27, 12, tzinfo=dt.UTC)
    paths = report.run("cost", {}, out_dir=tmp_path, now=now)
    assert paths.html.name == "cost_spike-demo-20261127T120000Z.html"
    outputs = _outputs(paths.notebook)
    assert not [o for o in outputs if o.get("output_type") == "error"]
    htmls = [html.unescape(o["data"].get("text/html", "")) for o in outputs if "data" in o]
    answer = next(h for h in htmls if "trailtools-verdict" in h)
    assert "AmazonEC2 in ap-northeast-1 rose from $0.00/day to $1,570.64/day on 2026-10-08" in answer
    assert f"created by {HENRY} at 2026-10-08 19:38 UTC" in answer
    # cost by service, by principal, creating calls against cost, and the trail's coverage of the window
    assert sum("application/vnd.vegalite.v6+json" in o.get("data", {}) for o in outputs) == 4
    assert not [o for o in outputs if "ImportError" in json.dumps(o.get("data", {}))]
    doc = json.loads(paths.findings.read_text())
    assert validate(doc) == [] and doc["investigation"] == "cost" and doc["verdict"] is None
    assert doc["findings"][0]["check"] == "cost.spike" and doc["findings"][0]["principal"] == HENRY
    assert doc["findings"][0]["severity"] == "high"
    # the window holds incident 6's stopped logging: the report says so (a finding, and the coverage appendix)
    assert "coverage.StopLogging" in {f["check"] for f in doc["findings"]}
    assert doc["findings"][0]["resources"] == ["AmazonEC2 in ap-northeast-1"]
    assert "i-0c6e1f9a2d7b3e8f4" in doc["findings"][0]["extra"]["resources"]
    page = paths.html.read_text()
    assert "henry.park@example.com" in page and "Provenance" in page and "cost/cur2/acme-cur2" in page


def test_cost_report_of_a_cur_carrying_payloads(tmp_path, request):
    """Creator and name tags carrying XSS payloads, through the cost notebook's report: escaped in the HTML and
    inert in the browser (when Debian's chromium is there)."""
    cur = F.write_cur2_csv_gz(tmp_path / "cur" / "evil.csv.gz", evil=PAYLOADS)
    paths = report.run("cost", {"source": "", "cost_source": str(cur), "start": "2026-10-01", "end": "2026-10-17"},
                       out_dir=tmp_path / "out")
    doc = json.loads(paths.findings.read_text())
    assert validate(doc) == [] and doc["findings"][0]["check"] == "cost.spike"
    assert {f["principal"] for f in doc["findings"] if f["check"] == "cost.principal"} <= set(PAYLOADS)
    page = paths.html.read_text()
    for p in PAYLOADS[:3]:
        assert p not in page, p          # never raw: escaped in tables and text, \u003c-encoded in chart data
    assert html.escape(PAYLOADS[0], quote=False) in page or html.escape(PAYLOADS[0]) in page
    if not CHROMIUM.exists():
        return
    b = request.getfixturevalue("browser")
    opened = Opened(b, paths.html, tmp_path)
    opened.charts_rendered(3)

    opened.assert_inert("#chart-1 .mark-rect path", limit=40, pause_ms=0)


def test_cli_cost(tmp_path, capsys):
    out = tmp_path / "cost.json"
    assert cli.main(["cost", "--json", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("AmazonEC2 in ap-northeast-1 rose from $0.00/day to $1,570.64/day on 2026-10-08")
    assert "  high: spike 2026-10-08T00:00:00Z to 2026-10-15T00:00:00Z" in printed
    assert json.loads(out.read_text())["findings"][0]["extra"]["principal"] == HENRY
    assert cli.main(["cost", "--cost-source", str(tmp_path / "nope")]) == 2
    assert "Cost source not found" in capsys.readouterr().err
