"""eventTime as hostile input (issue 17 item 7).

A date that does not exist is skipped with the reason by both reading paths (the native scanner's and the Python
one, which used to roll ``2026-02-30`` over to March 2); a time without a zone, before CloudTrail existed or long
after its file was delivered is kept, counted and listed in the load statistics (``suspicious_times``).
"""
from __future__ import annotations

import json

import pyarrow as pa
import pytest
from conftest import record
from hostile_h17_times import (
    ANCIENT_TIME,
    FUTURE_TIME,
    IMPOSSIBLE_TIMES,
    NAIVE_TIME,
    load,
    records,
    time_records,
    trail_file,
    write,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from trailtools import load_events
from trailtools.events import stats as load_stats
from trailtools.events import table

WHY = {"2026-02-30T00:00:00Z": "day is out of range for month", "2026-04-31T12:00:00Z": "day is out of range for month",
       "2026-02-29T00:00:00Z": "day is out of range for month", "2026-11-03T23:59:60Z": "second must be in 0..59",
       "0000-01-01T00:00:00Z": "year 0 is out of range"}


@pytest.mark.parametrize("when", IMPOSSIBLE_TIMES)
def test_impossible_dates_are_skipped_with_the_reason(tmp_path, native, when):
    # 2026-02-30 was read as 2026-03-02 (and a 60th second as the next minute); year 0 made the load raise
    path = trail_file(tmp_path, [record("good", "2026-11-03T10:00:00Z"), record("bad", when)])
    res = load(tmp_path)
    assert list(res.frame["eventID"]) == ["good"]
    assert [(s.path, s.record, s.reason) for s in res.stats.skipped] == [
        (str(path), 1, f"unparseable eventTime {when!r} ({WHY[when]})")]
    assert (res.stats.records_seen, res.stats.records_skipped, res.stats.events) == (2, 1, 1)


def test_impossible_dates_beside_suspicious_ones(tmp_path, native):
    recs = time_records()
    trail_file(tmp_path, list(recs.values()))
    res = load(tmp_path)
    assert set(res.frame["eventID"]) == {"t-good", "t-naive", "t-ancient", "t-future"}
    assert res.stats.records_skipped == len(IMPOSSIBLE_TIMES)
    assert sorted(s.record for s in res.stats.skipped) == list(range(4, 4 + len(IMPOSSIBLE_TIMES)))


def test_suspicious_times_are_kept_counted_and_listed(tmp_path, native):
    trail_file(tmp_path, list(time_records().values()))
    res = load(tmp_path)
    s = res.stats
    assert s.suspicious_times == 3
    assert s.suspicious_time_kinds == {table.NO_ZONE: 1, table.BEFORE_CLOUDTRAIL: 1, table.AFTER_DELIVERY: 1}
    listed = {x.eventID: x for x in s.suspicious_time_sample}
    assert set(listed) == {"t-naive", "t-ancient", "t-future"}
    assert listed["t-naive"].reason == "no time zone (read as UTC)" and listed["t-naive"].eventTime == NAIVE_TIME
    assert listed["t-ancient"].eventTime == ANCIENT_TIME
    assert listed["t-future"].reason == "more than 24 h after the file's delivery time (2026-11-03T10:05:00Z)"
    assert listed["t-future"].record == 3
    assert "3 records kept with a suspicious eventTime" in s.summary()
    assert s.to_dict()["suspicious_time_sample"][0]["eventID"] == "t-naive"
    # kept, with the time read as UTC
    times = res.frame.set_index("eventID")["eventTime"]
    assert str(times["t-naive"]) == "2026-11-03 10:00:00+00:00"
    assert str(times["t-future"]) == "2026-11-05 10:06:00+00:00"


def test_no_delivery_time_no_late_check_and_good_times_are_not_noted(tmp_path, native):
    # a file whose name is not CloudTrail's carries no delivery time: a late event cannot be told from it
    write(tmp_path / "copied.json", json.dumps({"Records": [record("c-1", FUTURE_TIME)]}).encode())
    trail_file(tmp_path, records("ok", 30))
    s = load(tmp_path).stats
    assert (s.events, s.suspicious_times, s.suspicious_time_sample) == (31, 0, [])
    assert "suspicious" not in s.summary()


def test_the_sample_is_bounded_and_the_count_exact(tmp_path, native):
    many = load_stats.MAX_SUSPICIOUS_LISTED * 5
    trail_file(tmp_path, records("n", many, NAIVE_TIME) + records("a", 3, ANCIENT_TIME), uid="A")
    trail_file(tmp_path, records("m", many, NAIVE_TIME), uid="B")
    s = load(tmp_path).stats
    assert s.suspicious_times == 2 * many + 3
    assert s.suspicious_time_kinds == {table.NO_ZONE: 2 * many, table.BEFORE_CLOUDTRAIL: 3}
    assert len(s.suspicious_time_sample) == load_stats.MAX_SUSPICIOUS_LISTED


def test_the_cache_keeps_the_suspicious_times(tmp_path):
    trail_file(tmp_path, list(time_records().values()))
    cold = load_events(str(tmp_path), cache=True, workers=1, progress=False).stats
    warm = load_events(str(tmp_path), cache=True, workers=1, progress=False).stats
    assert warm.files_cached == 1
    assert (warm.suspicious_times, warm.suspicious_time_kinds, warm.suspicious_time_sample) == (
        cold.suspicious_times, cold.suspicious_time_kinds, cold.suspicious_time_sample)
    assert warm.suspicious_times == 3


# ---- the Python path's strict reading is the native scanner's ----------------------------------------------

def _native_times(texts: list[str]) -> list:
    scanner = table._scan.Scanner(table._NAMES)
    recs = [record(f"e{i}", t) for i, t in enumerate(texts)]
    assert scanner.add(json.dumps({"Records": recs}).encode()) == len(recs)
    _, _, stamps, _ = table._native_arrays(scanner.take())
    return stamps.to_pylist()


digit = st.sampled_from("0123456789")
shaped = st.builds(lambda y, mo, d, h, mi, s: f"{y}-{mo}-{d}T{h}:{mi}:{s}Z",
                   st.text(digit, min_size=4, max_size=4) | st.sampled_from(["0000", "2024", "2026", "1900", "2000"]),
                   st.text(digit, min_size=2, max_size=2), st.sampled_from(["28", "29", "30", "31", "00", "32"])
                   | st.text(digit, min_size=2, max_size=2), st.text(digit, min_size=2, max_size=2),
                   st.text(digit, min_size=2, max_size=2), st.sampled_from(["59", "60", "61"])
                   | st.text(digit, min_size=2, max_size=2))


@pytest.mark.skipif(table._scan is None, reason="the native scanner is not built")
@settings(max_examples=100, deadline=None)
@given(st.lists(shaped | st.text(max_size=24), min_size=1, max_size=20))
def test_strict_times_are_the_native_scanners(texts):
    assert table._strict_times(pa.array(texts, pa.string())).to_pylist() == _native_times(texts)


@pytest.mark.skipif(table._scan is None, reason="the native scanner is not built")
def test_impossible_times_are_null_on_both_strict_paths():
    texts = IMPOSSIBLE_TIMES + ["2024-02-29T23:59:59Z", "2026-12-31T23:59:59Z"]
    want = [None] * len(IMPOSSIBLE_TIMES) + [pa.scalar(1709251199000000, table.TIME_TYPE).as_py(),
                                             pa.scalar(1798761599000000, table.TIME_TYPE).as_py()]
    assert table._strict_times(pa.array(texts)).to_pylist() == want == _native_times(texts)


_NAME_PARTS = st.tuples(
    st.sampled_from(["", "AWSLogs/111122223333/CloudTrail/us-east-1/2026/10/05/", "C:\\trail\\", "x\n/", "a/b\\"]),
    st.sampled_from(["111122223333", "11112222333", "１１１122223333"]),
    st.sampled_from(["_CloudTrail_", "_CloudTrail-Digest_", "_CloudTrail-Insight_", "_Cloudtrail_"]),
    st.sampled_from(["us-east-1", "eu_west"]),
    st.text(alphabet="0123456789T２Z", min_size=12, max_size=17),
    st.sampled_from(["_AbC123.json.gz", ".json", "_x.json.gz\n", ".json.gz.tmp", "_é.json"]),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(st.none(), _NAME_PARTS.map(lambda p: "".join(p[:3]) + p[3] + "_" + "".join(p[4:]))),
                max_size=20),
       st.lists(st.tuples(st.integers(0, 9999), st.integers(0, 13), st.integers(0, 32), st.integers(0, 25),
                          st.integers(0, 61), st.integers(0, 61), st.booleans()), max_size=10))
def test_delivery_times_are_classify_names_for_every_name(odd, dated):
    """The whole-column reading of file names' delivery times (Arrow's RE2, numpy) gives what the per-name one
    (Python's re, datetime) gives: dates that do not exist, other scripts' digits, line breaks, backslashes."""
    from trailtools.events.layout import classify_name

    names = odd + [f"d/111122223333_CloudTrail_us-east-1_{y:04d}{m:02d}{d:02d}T{h:02d}{mi:02d}"
                   f"{f'{s:02d}' if secs else ''}Z_a.json.gz" for y, m, d, h, mi, s, secs in dated]
    want = [None if n is None else classify_name(n.replace("\\", "/").rpartition("/")[2]).delivered for n in names]
    assert table.delivery_times(pa.array(names, pa.string())).to_pylist() == want
