"""Logging coverage: gaps from the trail's own calls (Stratus detonations, the demo's StopLogging) and silent hours."""
from __future__ import annotations

import json

import pandas as pd
import pytest
from conftest import STRATUS, need, record, ts

from trailtools import load_events
from trailtools.integrity.coverage import Coverage, Gap, compute, coverage_for, selectors_effect, trail_name
from trailtools.integrity.verify import Problem, Verification

HOUR = pd.Timedelta(hours=1)


def stratus(name: str) -> pd.DataFrame:
    return load_events(str(need(STRATUS / f"aws.defense-evasion.{name}.json"))).frame


@pytest.mark.parametrize("technique, kind, trail, check", [
    ("cloudtrail-stop", "logging-stopped", "stratus-red-team-ct-stop-trail-buykxbqejv", "coverage.StopLogging"),
    ("cloudtrail-delete", "trail-deleted", "stratus-red-team-cloudtraild-trail-kvrwohmiai", "coverage.DeleteTrail"),
    ("cloudtrail-event-selectors", "events-excluded", "stratus-red-team-ctes-trail-khlvciwdor",
     "coverage.PutEventSelectors"),
])
def test_stratus_detonations_open_a_gap_until_the_end_of_the_window(technique, kind, trail, check):
    frame = stratus(technique)
    when = frame["eventTime"].iloc[0]
    cov = compute(frame, (when - 3 * HOUR, when + HOUR))
    assert [(g.kind, g.trail, g.start, g.end, g.closed_by) for g in cov.gaps] == [
        (kind, trail, when, when + HOUR, None)]
    assert cov.gaps[0].opened_by == frame["eventID"].iloc[0]
    assert cov.covered_fraction() == pytest.approx(0.75)
    assert cov.covered_fraction((when - 3 * HOUR, when)) == 1.0
    (finding,) = cov.findings()
    assert (finding.check, finding.severity, finding.status) == (check, "high", "FAIL")
    assert finding.evidence[0].ref == frame["eventID"].iloc[0] and trail in finding.title
    # one event of history is too little to judge silent hours, and the coverage says so
    assert any("Too little history" in n for n in cov.notes)


def test_event_selectors_detonation_is_read_as_management_events_off():
    params = json.loads(stratus("cloudtrail-event-selectors")["requestParameters"].iloc[0])
    assert selectors_effect(params) == "management events"


@pytest.mark.parametrize("params, effect", [
    ({"eventSelectors": [{"readWriteType": "All", "includeManagementEvents": True}]}, ""),
    ({"eventSelectors": [{"readWriteType": "ReadOnly", "includeManagementEvents": True}]}, "write events"),
    ({"eventSelectors": [{"readWriteType": "WriteOnly", "includeManagementEvents": True}]}, "read events"),
    ({"eventSelectors": [{"readWriteType": "ReadOnly"}, {"readWriteType": "WriteOnly"}]}, ""),
    ({"advancedEventSelectors": [{"fieldSelectors": [{"field": "eventCategory", "equals": ["Data"]}]}]},
     "management events"),
    ({"advancedEventSelectors": [{"fieldSelectors": [{"field": "eventCategory", "equals": ["Management"]}]}]}, ""),
    ({}, ""),
])
def test_selectors_effect(params, effect):
    assert selectors_effect(params) == effect


def test_trail_name_from_arn():
    assert trail_name("arn:aws:cloudtrail:us-east-1:111122223333:trail/mgmt") == "mgmt"
    assert trail_name("mgmt") == "mgmt" and trail_name(None) is None


def _events(tmp_path, records):
    path = tmp_path / "events.json"
    path.write_text(json.dumps({"Records": records}))
    return load_events(str(path), cache=False).frame


def ct(event_id, time, name, trail="mgmt", error=None, **params):
    rec = record(event_id, time, name, eventSource="cloudtrail.amazonaws.com",
                 requestParameters={"name": f"arn:aws:cloudtrail:us-east-1:111122223333:trail/{trail}", **params})
    if error:
        rec["errorCode"] = error
    return rec


def test_stop_then_start_closes_the_gap_and_refused_calls_open_none(tmp_path):
    frame = _events(tmp_path, [
        ct("a", "2026-11-03T01:00:00Z", "StopLogging", error="AccessDenied"),
        ct("b", "2026-11-03T02:00:00Z", "StopLogging"),
        ct("c", "2026-11-03T02:30:00Z", "StopLogging"),  # already off: the gap still starts at 02:00
        ct("d", "2026-11-03T05:00:00Z", "StartLogging"),
        ct("e", "2026-11-03T06:00:00Z", "UpdateTrail", s3BucketName="attacker-bucket", isMultiRegionTrail=False),
    ])
    cov = compute(frame, (ts("2026-11-03T00:00:00Z"), ts("2026-11-03T08:00:00Z")))
    assert [(g.kind, g.start, g.end, g.opened_by, g.closed_by) for g in cov.gaps] == [
        ("logging-stopped", ts("2026-11-03T02:00:00Z"), ts("2026-11-03T05:00:00Z"), "b", "d")]
    assert cov.covered_fraction() == pytest.approx(5 / 8)
    checks = [(f.check, f.severity, f.status) for f in cov.findings()]
    assert checks == [("coverage.StopLogging", "low", "INFO"), ("coverage.StopLogging", "high", "FAIL"),
                      ("coverage.StopLogging", "high", "FAIL"), ("coverage.UpdateTrail", "medium", "FAIL")]
    update = cov.findings()[-1]
    assert "attacker-bucket" in update.explanation and "only its home region" in update.explanation


def test_gap_opened_before_the_window_counts_from_its_start(tmp_path):
    frame = _events(tmp_path, [ct("b", "2026-11-02T22:00:00Z", "DeleteTrail"),
                               ct("c", "2026-11-03T02:00:00Z", "StartLogging")])
    cov = compute(frame, (ts("2026-11-03T00:00:00Z"), ts("2026-11-03T04:00:00Z")))
    assert cov.intervals() == [(ts("2026-11-03T00:00:00Z"), ts("2026-11-03T02:00:00Z"))]
    assert cov.covered_fraction() == pytest.approx(0.5)


def _hourly(days: int, start="2026-11-01T00:00:00Z", skip=()):
    """One event every hour for `days` days, except the hours in skip."""
    out = []
    for h in range(24 * days):
        t = ts(start) + pd.Timedelta(hours=h) + pd.Timedelta(minutes=7)
        if t.floor("h") not in skip:
            out.append(record(f"h{h}", t.strftime("%Y-%m-%dT%H:%M:%SZ")))
    return out


def test_silent_hours_in_an_account_that_is_always_busy(tmp_path):
    silent = {ts("2026-11-04T10:00:00Z"), ts("2026-11-04T11:00:00Z"), ts("2026-11-04T12:00:00Z")}
    frame = _events(tmp_path, _hourly(5, skip=silent))
    cov = compute(frame, (ts("2026-11-04T00:00:00Z"), ts("2026-11-05T00:00:00Z")))
    assert [(g.kind, g.start, g.end) for g in cov.gaps] == [
        ("no-deliveries", ts("2026-11-04T10:00:00Z"), ts("2026-11-04T13:00:00Z"))]
    assert "3 days" in cov.gaps[0].reason and cov.covered_fraction() == pytest.approx(21 / 24)
    assert [f.check for f in cov.findings()] == ["coverage.no-deliveries"]


def test_quiet_hours_that_are_always_quiet_are_not_gaps(tmp_path):
    # nights (00-06) never have events: a night without events is not a gap, a silent afternoon is
    quiet = {ts("2026-11-01T00:00:00Z") + pd.Timedelta(days=d, hours=h) for d in range(5) for h in range(6)}
    frame = _events(tmp_path, _hourly(5, skip=quiet | {ts("2026-11-04T15:00:00Z")}))
    cov = compute(frame, (ts("2026-11-04T00:00:00Z"), ts("2026-11-05T00:00:00Z")))
    assert [(g.start, g.end) for g in cov.gaps] == [(ts("2026-11-04T15:00:00Z"), ts("2026-11-04T16:00:00Z"))]


def test_verification_gaps_join_the_coverage():
    ver = Verification("x", (None, None), digests=2, problems=[
        Problem("gap", "d.json.gz", "No digests from A to B.", "2026-11-03T01:00:00Z", "2026-11-03T03:00:00Z")])
    cov = compute(pd.DataFrame(), (ts("2026-11-03T00:00:00Z"), ts("2026-11-03T04:00:00Z")), verification=ver)
    assert [(g.kind, g.start, g.end) for g in cov.gaps] == [
        ("no-digests", ts("2026-11-03T01:00:00Z"), ts("2026-11-03T03:00:00Z"))]
    assert cov.covered_fraction() == pytest.approx(0.5)


def test_overlapping_gaps_are_counted_once():
    cov = Coverage((ts("2026-11-03T00:00:00Z"), ts("2026-11-03T10:00:00Z")), gaps=[
        Gap(ts("2026-11-03T01:00:00Z"), ts("2026-11-03T05:00:00Z"), "logging-stopped", "x"),
        Gap(ts("2026-11-03T03:00:00Z"), ts("2026-11-03T06:00:00Z"), "no-deliveries", "y"),
        Gap(ts("2026-11-03T09:00:00Z"), ts("2026-11-03T12:00:00Z"), "trail-deleted", "z")])
    assert cov.covered_fraction() == pytest.approx(0.4)
    assert cov.intervals()[-1] == (ts("2026-11-03T09:00:00Z"), ts("2026-11-03T10:00:00Z"))


def test_demo_logging_gap_of_incident_6():
    cov = coverage_for("demo", ts("2026-10-10T12:00:00Z"), ts("2026-10-12T00:00:00Z"))
    stopped = [g for g in cov.gaps if g.kind == "logging-stopped"]
    assert [(g.start, g.end, g.trail) for g in stopped] == [
        (ts("2026-10-11T02:23:37Z"), ts("2026-10-11T14:02:51Z"), "management-events")]
    silent = [g for g in cov.gaps if g.kind == "no-deliveries"]
    assert [(g.start, g.end) for g in silent] == [(ts("2026-10-11T03:00:00Z"), ts("2026-10-11T14:00:00Z"))]
    gap = ts("2026-10-11T14:02:51Z") - ts("2026-10-11T02:23:37Z")
    assert cov.covered_fraction() == pytest.approx(1 - gap / pd.Timedelta(hours=36))
    assert {f.check for f in cov.findings()} == {"coverage.StopLogging", "coverage.no-deliveries"}
    assert cov.to_dict()["covered_fraction"] == round(cov.covered_fraction(), 4)


def test_html_is_escaped():
    cov = Coverage((ts("2026-11-03T00:00:00Z"), ts("2026-11-03T10:00:00Z")), gaps=[
        Gap(ts("2026-11-03T01:00:00Z"), ts("2026-11-03T05:00:00Z"), "logging-stopped", "<img src=x onerror=1>")])
    assert "<img" not in cov.to_html() and "&lt;img" in cov.to_html()
