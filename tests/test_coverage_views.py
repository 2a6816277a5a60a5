"""Coverage on charts and in reports: gaps shaded on timelines, the coverage bar, the reboot investigation's window,
and the provenance appendix."""
from __future__ import annotations

import json

import pandas as pd
import pytest
from conftest import ts

from trailtools.integrity.coverage import Coverage, Gap
from trailtools.report.run import provenance_html
from trailtools.views import spec_json
from trailtools.views.coverage import coverage_chart, shade_gaps
from trailtools.views.timeline import instance_timeline

WINDOW = (ts("2026-11-03T00:00:00Z"), ts("2026-11-04T00:00:00Z"))
COV = Coverage(WINDOW, gaps=[
    Gap(ts("2026-11-03T02:00:00Z"), ts("2026-11-03T05:00:00Z"), "logging-stopped", "</script><b>eve</b> stopped it"),
    Gap(ts("2026-11-03T23:00:00Z"), ts("2026-11-04T03:00:00Z"), "no-deliveries", "quiet")])
EVIDENCE = pd.DataFrame({"time": [ts("2026-11-03T01:00:00Z"), ts("2026-11-03T12:00:00Z")],
                         "lane": ["API calls", "Guest OS"], "what": ["RebootInstances", "boot"]})


def test_shade_gaps_returns_a_new_chart_with_the_gaps_behind():
    chart = instance_timeline(EVIDENCE, window=WINDOW)
    before = chart.to_dict()
    shaded = shade_gaps(chart, COV)
    assert chart.to_dict() == before  # the chart given is not changed
    spec = shaded.to_dict()
    assert len(spec["layer"]) == len(before["layer"]) + 1
    band = spec["layer"][0]
    assert band["mark"]["type"] == "rect" and band["encoding"]["x2"]["field"] == "end"
    rows = band["data"]["values"]
    # clipped to the window: the second gap ends at the window's end
    assert [(r["time"], r["end"], r["gap"]) for r in rows] == [
        ("2026-11-03T02:00:00.000Z", "2026-11-03T05:00:00.000Z", "logging-stopped"),
        ("2026-11-03T23:00:00.000Z", "2026-11-04T00:00:00.000Z", "no-deliveries")]
    assert spec["width"] == before["width"] and spec["height"] == before["height"]
    assert "</script>" not in spec_json(shaded)  # attacker-chosen text stays inert in HTML


def test_shade_gaps_without_gaps_is_a_copy():
    chart = instance_timeline(EVIDENCE, window=WINDOW)
    same = shade_gaps(chart, Coverage(WINDOW))
    assert same is not chart and same.to_dict() == chart.to_dict()


def test_instance_timeline_takes_gaps():
    spec = instance_timeline(EVIDENCE, window=WINDOW, gaps=COV).to_dict()
    band = spec["layer"][0]
    assert band["mark"]["type"] == "rect"
    assert band["encoding"]["x"]["scale"]["domain"] == [int(WINDOW[0].value // 10**6), int(WINDOW[1].value // 10**6)]
    assert {t["field"] for t in band["encoding"]["tooltip"]} == {"gap", "when", "why"}
    assert len(spec["layer"]) == len(instance_timeline(EVIDENCE, window=WINDOW).to_dict()["layer"]) + 1


def test_coverage_chart_shows_the_share_and_each_gap():
    spec = coverage_chart(COV).to_dict()
    assert spec["title"]["text"] == "Logging coverage: 83.3% of the window"
    rows = (spec["layer"][0].get("data") or spec["data"])["values"]
    assert [r["gap"] for r in rows] == ["covered", "no-deliveries", "logging-stopped"]  # darker drawn last
    assert rows[0]["color"] != rows[2]["color"]


def test_provenance_appendix_states_coverage_and_integrity():
    page = provenance_html({"provenance": {"coverage": COV.to_dict(), "integrity": {
        "status": "FAILED", "digests": 2, "digests_verified": 1, "logs": 4, "logs_verified": 3,
        "problems": [{"severity": "fail", "kind": "modified-log", "path": "<i>x</i>", "detail": "hash"}]}}})
    assert "Logging coverage" in page and "83.3% of the window" in page
    assert "&lt;/script&gt;&lt;b&gt;eve" in page and "<b>eve" not in page
    assert "<b>FAILED</b>: 2 digest files (1 signatures verified), 3/4 log files intact" in page
    assert "&lt;i&gt;x&lt;/i&gt;" in page
    empty = provenance_html({"provenance": {}})
    assert "Not computed by this investigation" in empty and "Not checked" in empty


def test_reboot_investigation_states_its_windows_coverage():
    from trailtools.investigations.reboot.gather import investigate

    inv = investigate("i-0a7c9e1b3d5f72468")  # its window is the demo's last 7 days: incident 6's StopLogging
    cov = inv.coverage
    assert cov is not None and cov.window == inv.evidence.window
    assert [g.kind for g in cov.gaps if g.kind == "logging-stopped"] == ["logging-stopped"]
    assert 0.9 < cov.covered_fraction() < 0.95
    spec = inv.timeline().to_dict()
    assert spec["layer"][0]["mark"]["type"] == "rect"
    doc = json.loads(inv.to_json())
    assert doc["provenance"]["coverage"]["covered_fraction"] == pytest.approx(cov.covered_fraction(), abs=1e-4)
    assert "coverage.StopLogging" in [f["check"] for f in doc["findings"]]
    assert [f.check for f in inv.findings] == ["reboot.undetermined", "reboot.upcoming-event"]
    assert "integrity" not in doc["provenance"]  # the demo has no digests
    assert inv.coverage_chart().to_dict()["title"]["text"].startswith("Logging coverage: 9")


@pytest.mark.slow
def test_report_appendix_states_coverage_and_findings_validate(tmp_path):
    import datetime as dt

    from trailtools.findings.schema import validate
    from trailtools.report import run as report

    paths = report.run("reboot", {"instance": "i-0a7c9e1b3d5f72468"}, out_dir=tmp_path,
                       now=dt.datetime(2026, 11, 27, 12, tzinfo=dt.UTC))
    doc = json.loads(paths.findings.read_text())
    assert validate(doc) == []
    cov = doc["provenance"]["coverage"]
    assert [g["kind"] for g in cov["gaps"]] == ["logging-stopped", "no-deliveries"]
    assert "coverage.StopLogging" in [f["check"] for f in doc["findings"]]
    page = paths.html.read_text()
    appendix = page[page.index("<section class='provenance'>"):]
    assert f"{cov['covered_fraction']:.1%} of the window" in appendix
    assert "emma.wilson stopped logging on trail management-events." in appendix
    assert "Log file integrity (CloudTrail digests)" in appendix and "Not checked" in appendix
