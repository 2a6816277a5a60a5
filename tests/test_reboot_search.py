"""The reboot investigation with no start: the trail read back step by step (the last day, week, month, 90 days,
year) until a restart is found, each step reading only the files of the slice it adds; the steps' frames together
are what one load of the range gives; the answer says how far it looked."""
import gzip
import json
import uuid

import pandas as pd
import pytest
from conftest import record

from trailtools import load_events
from trailtools.investigations.reboot import search
from trailtools.investigations.reboot.gather import NEEDS, investigate

INSTANCE = "i-0123456789abcdef0"       # restarted 20 days before the trail's end
QUIET = "i-0fedcba9876543210"          # never restarted
END = pd.Timestamp("2026-11-30T00:00:00Z")
REBOOT = END - pd.Timedelta(days=20) + pd.Timedelta(hours=3, minutes=7)
ACCOUNT = "111122223333"


def _touching(event_id: str, t: pd.Timestamp, name: str, instance: str) -> dict:
    return record(event_id, t.strftime("%Y-%m-%dT%H:%M:%SZ"), name, recipientAccountId=ACCOUNT,
                  requestParameters={"instancesSet": {"items": [{"instanceId": instance}]}}, readOnly=False)


def _write(root, delivered: pd.Timestamp, records: list[dict]) -> None:
    folder = root / "AWSLogs" / ACCOUNT / "CloudTrail" / "us-east-1" / delivered.strftime("%Y/%m/%d")
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{ACCOUNT}_CloudTrail_us-east-1_{delivered:%Y%m%dT%H%M}Z_{uuid.uuid4().hex[:16]}.json.gz"
    (folder / name).write_bytes(gzip.compress(json.dumps({"Records": records}).encode()))


@pytest.fixture(scope="module")
def trail(tmp_path_factory):
    """45 days of a small trail: every 12 hours a file with a call touching each instance; the restart 20 days
    before the end; an event delivered late across a step's edge; an identical copy of an event in two steps."""
    root = tmp_path_factory.mktemp("trail")
    t = END - pd.Timedelta(days=45)
    n = 0
    while t < END:
        recs = [_touching(f"00000000-0000-4000-8000-{n:012d}", t - pd.Timedelta(minutes=5), "DescribeInstances",
                          INSTANCE),
                _touching(f"10000000-0000-4000-8000-{n:012d}", t - pd.Timedelta(minutes=4), "DescribeInstances",
                          QUIET)]
        if t - pd.Timedelta(hours=12) < REBOOT <= t:
            recs.append(_touching("20000000-0000-4000-8000-000000000001", REBOOT, "RebootInstances", INSTANCE))
        _write(root, t, recs)
        t += pd.Timedelta(hours=12)
        n += 1
    # an event of 8 days before the end, delivered 2 hours late (after the edge of the 7-day step's slice)
    late = END - pd.Timedelta(days=7, hours=1)
    _write(root, late + pd.Timedelta(hours=2), [_touching("30000000-0000-4000-8000-000000000001", late,
                                                          "DescribeInstances", INSTANCE)])
    # the same event twice: in a file of the 30-day step and again in a file of the 7-day step
    copy = _touching("40000000-0000-4000-8000-000000000001", END - pd.Timedelta(days=9), "StopInstances", QUIET)
    _write(root, END - pd.Timedelta(days=9) + pd.Timedelta(minutes=5), [copy])
    _write(root, END - pd.Timedelta(days=3), [copy])
    # copies that differ, read by two steps; and a differing pair in one step with an identical copy in another
    stop = _touching("50000000-0000-4000-8000-000000000001", END - pd.Timedelta(days=12), "StopInstances", QUIET)
    _write(root, END - pd.Timedelta(days=12) + pd.Timedelta(minutes=5), [stop])
    _write(root, END - pd.Timedelta(days=2), [{**stop, "userAgent": "rewritten"}])
    start = _touching("60000000-0000-4000-8000-000000000001", END - pd.Timedelta(days=10), "CreateTags", QUIET)
    _write(root, END - pd.Timedelta(days=10) + pd.Timedelta(minutes=5), [start])
    _write(root, END - pd.Timedelta(days=10) + pd.Timedelta(hours=1), [{**start, "sourceIPAddress": "203.0.113.9"}])
    _write(root, END - pd.Timedelta(days=2, hours=1), [start])
    return root


def _steps_read(monkeypatch):
    """Record every load the search makes: the files each step's frame came from, and its stats."""
    loads = []
    real = search.load_events

    def recording(*args, **kwargs):
        res = real(*args, **kwargs)
        loads.append((set(map(str, res.frame["_file"])), res.stats))
        return res

    monkeypatch.setattr(search, "load_events", recording)
    return loads


def test_a_restart_20_days_back_is_found_at_the_30_day_step(trail, monkeypatch):
    loads = _steps_read(monkeypatch)
    inv = investigate(INSTANCE, source=str(trail), end=END.isoformat())
    s = inv.evidence.search
    assert [st.to_dict()["days"] for st in s.steps] == [1, 7, 30]
    assert s.restart == REBOOT
    assert s.note() == ("No start given: read the last 1 day, then 7 days, then 30 days: the last restart is at "
                        f"{REBOOT:%Y-%m-%dT%H:%M:%SZ}.")
    assert inv.verdict.cause == "api-call" and inv.verdict.restart == REBOOT
    assert inv.evidence.window == (REBOOT - pd.Timedelta(days=1), REBOOT + pd.Timedelta(hours=2))
    doc = inv.to_dict()
    assert doc["search"]["restart"] == f"{REBOOT:%Y-%m-%dT%H:%M:%SZ}" and doc["provenance"]["search"] == doc["search"]
    assert any("search: No start given" in line for line in inv.summary_lines())
    # no file read twice across the steps, and the steps read what one load of the last 30 days reads
    read = [files for files, _ in loads]
    assert all(not (a & b) for i, a in enumerate(read) for b in read[i + 1:])
    whole = load_events(str(trail), NEEDS.query(resource=INSTANCE, start=(END - pd.Timedelta(days=30)).isoformat(),
                                                end=END.isoformat()))
    assert set(map(str, whole.frame["_file"])) <= set().union(*read)
    assert sum(stats.files_read for _, stats in loads) == whole.stats.files_read == inv.evidence.load_stats[
        "files_read"]
    assert [st.files_read for st in s.steps] == [stats.files_read for _, stats in loads]


@pytest.mark.parametrize("instance", [INSTANCE, QUIET])
def test_the_steps_together_are_one_load_of_the_range(trail, instance):
    def found(frame, lo):
        hits = frame[frame["eventName"] == "RebootInstances"]
        return hits["eventTime"].max() if len(hits) else None

    base = NEEDS.query(resource=instance)
    frame, stats, s = search.widen(str(trail), base, END, found)
    whole = load_events(str(trail), base.replace(start=s.start.to_pydatetime(), end=END.to_pydatetime()))
    pd.testing.assert_frame_equal(frame, whole.frame)
    for name in ("events", "files_read", "files_seen"):
        assert getattr(stats, name) == getattr(whole.stats, name), name
    if instance == QUIET:  # copies of this instance's calls: compared across the steps as one load compares them
        for name in ("duplicates_dropped", "conflicting_duplicates"):
            assert getattr(stats, name) == getattr(whole.stats, name), name
    else:  # copies of calls outside the query, read by two steps, are not compared (docs/reboot.md): one load does
        assert (stats.conflicting_duplicates, whole.stats.conflicting_duplicates) == (1, 2)
    assert stats.files_pruned == whole.stats.files_pruned
    assert "30000000-0000-4000-8000-000000000001" in set(frame["eventID"]) or instance == QUIET  # the late event
    if instance == QUIET:   # the copies two steps read, dropped as one load drops them; each conflict once
        assert (stats.duplicates_dropped, stats.conflicting_duplicates) == (2, 2)
        assert sorted(c["eventID"][:8] for c in stats.conflicts) == ["50000000", "60000000"]


def test_no_restart_at_all_says_how_far_it_looked(trail, monkeypatch):
    loads = _steps_read(monkeypatch)
    inv = investigate(QUIET, source=str(trail), end=END.isoformat())
    s = inv.evidence.search
    assert s.restart is None and [st.to_dict()["days"] for st in s.steps] == [1, 7, 30, 90, 365]
    assert s.note() == ("No start given: read the last 1 day, then 7 days, then 30 days, then 90 days, then 365 days:"
                        " no restart in the last 365 days.")
    assert inv.evidence.window == (END - pd.Timedelta(days=7), END)
    assert inv.to_dict()["search"]["restart"] is None
    read = [files for files, _ in loads]
    assert all(not (a & b) for i, a in enumerate(read) for b in read[i + 1:])
    assert sum(stats.files_read for _, stats in loads) == 98   # every file of the trail, once
    assert len(set().union(*read)) == 97   # all but the late file, which holds no call touching this instance


def test_a_start_given_reads_the_window_as_before(trail):
    inv = investigate(INSTANCE, source=str(trail), start=(END - pd.Timedelta(days=21)).isoformat(),
                      end=(END - pd.Timedelta(days=19)).isoformat())
    assert inv.evidence.search is None and "search" not in inv.to_dict()
    assert inv.verdict.restart == REBOOT


def test_lookup_reads_at_most_90_days():
    assert [int(s / pd.Timedelta(days=1)) for s in search.steps_for("lookup://us-east-1")] == [1, 7, 30, 90]
    assert [int(s / pd.Timedelta(days=1)) for s in search.steps_for("demo")] == [1, 7, 30, 90, 365]
    assert search.by_files("demo") and search.by_files("s3://bucket/prefix")
    assert not search.by_files("lookup://us-east-1") and not search.by_files("athena://db.table")


@pytest.mark.slow
def test_on_the_demo_the_steps_read_what_one_load_of_their_range_reads(monkeypatch):
    """web-01's reboot (2026-10-06, incident 1) is 9 days before the demo's "now": found at the 30-day step, having
    read each file of the last 30 days once; its verdict is the one docs/demo-account.md expects."""
    loads = _steps_read(monkeypatch)
    inv = investigate("i-04c2a9e71d3b58f06")
    s = inv.evidence.search
    assert [st.to_dict()["days"] for st in s.steps] == [1, 7, 30]
    assert (inv.verdict.cause, inv.verdict.actor) == ("api-call", "dave.miller")
    whole = load_events("demo", NEEDS.query(resource="i-04c2a9e71d3b58f06", start=s.start.to_pydatetime(),
                                            end=s.end.to_pydatetime()))
    assert sum(stats.files_read for _, stats in loads) == whole.stats.files_read == inv.evidence.load_stats[
        "files_read"]
    read = [files for files, _ in loads]
    assert all(not (a & b) for i, a in enumerate(read) for b in read[i + 1:])
