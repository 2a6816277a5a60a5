"""The login investigation's two engines give the same answers (issue 21): ``duckdb`` (the window whole, the baseline
compact, computed by DuckDB over a streaming scan) and ``memory`` (every event loaded whole); on the demo account,
on a generated corpus, and on a small trail with copies of events. And the duckdb engine's baseline grows with
principals x features, not with events."""
import dataclasses
import subprocess
import sys
import tracemalloc
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from conftest import STRATUS, need, record, s3_path, write_gz

from trailtools import load_events
from trailtools.events.query import Query
from trailtools.investigations.login.gather import NEEDS, investigate
from trailtools.investigations.login.history import TEXT_EVENTS, load_compact

ROOT = Path(__file__).resolve().parents[1]


def _answer(inv) -> list[tuple]:
    return [(f.check, f.severity, f.title, f.resource, f.explanation, tuple(e.ref for e in f.evidence))
            for f in inv.all_findings()]


def _same(a, b) -> None:
    assert a.engine == "memory" and b.engine == "duckdb"
    assert _answer(a) == _answer(b)
    pd.testing.assert_frame_equal(a.analysis.sessions, b.analysis.sessions)
    pd.testing.assert_frame_equal(a.analysis.credentials, b.analysis.credentials)
    pd.testing.assert_frame_equal(a.analysis.signins, b.analysis.signins)
    pd.testing.assert_frame_equal(a.analysis.follow_ups, b.analysis.follow_ups)
    assert a.load_stats == b.load_stats
    assert a.inputs == b.inputs
    assert (a.coverage is None) == (b.coverage is None)
    if a.coverage is not None:
        assert a.coverage.to_dict() == b.coverage.to_dict()
    assert [n for n in a.analysis.notes if not n.startswith("Engine")] == \
        [n for n in b.analysis.notes if not n.startswith("Engine")]
    assert b.to_dict()["provenance"]["engine"] == "duckdb"


def test_demo_same_answers():
    kw = {"source": "demo", "start": "2026-10-07", "end": "2026-10-15"}
    a, b = investigate(**kw, engine="memory"), investigate(**kw, engine="duckdb")
    _same(a, b)
    assert len(a.findings) >= 10        # incident 6 and its look-alikes: something to compare
    assert any(n.startswith("Engine duckdb:") for n in b.analysis.notes)
    # the baseline is held compact: fewer rows than events
    assert len(b.events) < len(a.events)


@pytest.mark.slow
def test_demo_principal_and_default_engine():
    inv = investigate(source="demo", start="2026-10-07", end="2026-10-15", principal="alice")
    assert inv.engine == "duckdb"        # a source with files: the out-of-core engine by default
    _same(investigate(source="demo", start="2026-10-07", end="2026-10-15", principal="alice", engine="memory"), inv)


def test_bad_engine_is_one_sentence():
    from trailtools.errors import QueryError

    with pytest.raises(QueryError, match="engine must be one of duckdb, memory"):
        investigate(source="demo", engine="spark")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("corpus") / "c"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "make_corpus.py"), "--events", "8000", "--days", "8",
                    "--start", "2026-10-01T00:00:00+00:00", "--out", str(out), "--seed", "5", "--workers", "2"],
                   check=True, capture_output=True, cwd=ROOT)
    return out


def test_generated_corpus_same_answers(corpus):
    kw = {"source": str(corpus), "start": "2026-10-06", "end": "2026-10-09", "baseline_days": 5}
    a, b = investigate(**kw, engine="memory"), investigate(**kw, engine="duckdb")
    _same(a, b)
    assert a.analysis.credentials.shape[0] > 10


def _trail(root: Path, copies: int) -> Path:
    """Ten days of calls by three principals from fixed addresses and agents (``copies`` calls of each kind an hour
    in the baseline), a sign-in a day, and a window day."""
    files: dict[str, list] = {}
    people = [("alice", "198.51.100.7", "aws-cli/2.15.0"), ("bob", "203.0.113.9", "Boto3/1.34.0"),
              ("carol", "192.0.2.44", "Mozilla/5.0 (X11; Linux x86_64)")]
    for day in range(1, 11):
        for hour in range(0, 24, 3):
            stamp = f"202610{day:02d}T{hour:02d}00Z"
            rows = files.setdefault(stamp, [])
            for who, ip, agent in people:
                ident = {"type": "IAMUser", "principalId": "AIDA" + who.upper(), "userName": who,
                         "arn": f"arn:aws:iam::111122223333:user/{who}", "accountId": "111122223333",
                         "accessKeyId": "AKIA" + who.upper().ljust(16, "X")}
                for k in range(copies):
                    for name in ("DescribeInstances", "ListBuckets"):
                        rows.append(record(str(uuid.uuid4()), f"2026-10-{day:02d}T{hour:02d}:{k % 60:02d}:{k // 60:02d}Z",
                                           name, userIdentity=ident, sourceIPAddress=ip, userAgent=agent))
                if hour == 9:
                    rows.append(record(str(uuid.uuid4()), f"2026-10-{day:02d}T09:30:00Z", "ConsoleLogin",
                                       userIdentity=ident, sourceIPAddress=ip, eventSource="signin.amazonaws.com",
                                       userAgent="Mozilla/5.0", responseElements={"ConsoleLogin": "Success"},
                                       additionalEventData={"MFAUsed": "Yes"}))
    for stamp, rows in files.items():
        write_gz(s3_path(root, "111122223333", "us-east-1", stamp), {"Records": rows})
    return root


def test_baseline_grows_with_features_not_events(tmp_path):
    start, end = pd.Timestamp("2026-10-10", tz="UTC"), pd.Timestamp("2026-10-11", tz="UTC")
    runs = {}
    for copies in (4, 16):
        trail = _trail(tmp_path / f"t{copies}", copies)
        tracemalloc.start()
        loaded = load_compact(str(trail), start, end, 9)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        runs[copies] = (loaded, peak)
    small, large = runs[4][0], runs[16][0]
    assert large.history_events > 3.5 * small.history_events
    assert large.compact_rows == small.compact_rows          # the same principals x features: the same rows
    assert int(large.frame.loc[large.frame["eventTime"] < start, "calls"].sum()) == large.history_events
    # Python's own allocations while scanning and aggregating: the window and the compact rows, not the baseline
    assert runs[16][1] < 1.5 * runs[4][1] + 2_000_000


def test_copies_of_events_as_the_loader_counts_them(tmp_path):
    """An event delivered twice (identical) is one event, in the window or in the baseline; copies that differ are
    kept and listed: the scan's statistics and answers are the loader's."""
    trail = _trail(tmp_path / "t", 2)
    again = record("dup-1", "2026-10-03T05:00:00Z", "ListBuckets", sourceIPAddress="198.51.100.7")
    late = record("dup-2", "2026-10-10T05:00:00Z", "DescribeInstances")
    write_gz(s3_path(trail, "111122223333", "us-east-1", "20261003T0500Z"), {"Records": [again, late]})
    write_gz(s3_path(trail, "111122223333", "us-east-1", "20261003T0505Z", uid="Copy1"), {"Records": [again]})
    write_gz(s3_path(trail, "111122223333", "us-east-1", "20261010T0505Z", uid="Copy2"),
             {"Records": [late, {**late, "sourceIPAddress": "192.0.2.99"}]})
    start, end = pd.Timestamp("2026-10-10", tz="UTC"), pd.Timestamp("2026-10-11", tz="UTC")
    loaded = load_compact(str(trail), start, end, 9)
    whole = load_events(str(trail), Query(start=(start - pd.Timedelta(days=9)).to_pydatetime(),
                                          end=end.to_pydatetime()))
    mine, theirs = loaded.stats.to_dict(), whole.stats.to_dict()
    for k in ("elapsed_s", "files_cached"):
        mine.pop(k), theirs.pop(k)
    assert mine == theirs
    assert theirs["duplicates_dropped"] == 2 and theirs["conflicting_duplicates"] == 1
    assert loaded.history_events + int((loaded.frame["eventTime"] >= start).sum()) == len(whole.frame)
    kw = {"source": str(trail), "start": "2026-10-10", "end": "2026-10-11", "baseline_days": 9}
    _same(investigate(**kw, engine="memory"), investigate(**kw, engine="duckdb"))


def test_window_without_events():
    """A window (and baseline) where the trail has nothing: both engines say so alike."""
    kw = {"source": "demo", "start": "2025-01-01", "end": "2025-01-08"}
    a, b = investigate(**kw, engine="memory"), investigate(**kw, engine="duckdb")
    _same(a, b)
    assert a.findings == [] and a.load_stats["events"] == 0


def test_stratus_detonations_same_answers():
    """Real attack records (Stratus Red Team's detonations, the months before as the compact baseline): the same
    findings from both engines."""
    kw = {"source": str(need(STRATUS)), "start": "2024-08-01", "end": "2024-12-01", "baseline_days": 30}
    a, b = investigate(**kw, engine="memory"), investigate(**kw, engine="duckdb")
    _same(a, b)
    assert len(a.findings) >= 5 and len(b.events) < len(a.events)


def test_rows_kept_whole_hold_what_the_checks_read(tmp_path):
    """The duckdb engine keeps of the window's rows the columns of the login's NEEDS, the JSON bodies only of the
    calls a check reads them on, and no STS session token; the record in its file is untouched."""
    from trailtools.events.result import raw_record

    ident = {"type": "AssumedRole", "arn": "arn:aws:sts::111122223333:assumed-role/app/i-0abc",
             "accountId": "111122223333", "accessKeyId": "ASIAAPPAPPAPPAPPAPP1"}
    token = "IQoJb3JpZ2luX2VjE" + "Z" * 700
    rows = [record("e-list", "2026-10-10T01:00:00Z", "DescribeVolumes", userIdentity=ident,
                   requestParameters={"volumeSet": {}}, sourceIPAddress="10.0.0.5"),
            record("e-assume", "2026-10-10T01:05:00Z", "AssumeRole", eventSource="sts.amazonaws.com",
                   userIdentity=ident, requestParameters={"roleArn": "arn:aws:iam::111122223333:role/admin"},
                   responseElements={"credentials": {"accessKeyId": "ASIANEWNEWNEWNEWNEW1", "sessionToken": token,
                                                     "expiration": "Oct 10, 2026, 2:05:00 AM"},
                                     "assumedRoleUser": {"arn": "arn:aws:sts::111122223333:assumed-role/admin/x"}}),
            record("e-describe", "2026-10-10T01:06:00Z", "DescribeInstances", userIdentity=ident,
                   responseElements={"reservationSet": {"items": [{"x": "y" * 500}]}})]
    write_gz(s3_path(tmp_path, "111122223333", "us-east-1", "20261010T0100Z"), {"Records": rows})
    start, end = pd.Timestamp("2026-10-10", tz="UTC"), pd.Timestamp("2026-10-11", tz="UTC")
    frame = load_compact(str(tmp_path), start, end, 3, needs=NEEDS).frame.set_index("eventID", drop=False)
    assert set(NEEDS.columns) <= set(frame.columns)
    assert "requestID" not in frame.columns and "tlsDetails.clientProvidedHostHeader" not in frame.columns
    assert "AssumeRole" in TEXT_EVENTS and "DescribeVolumes" not in TEXT_EVENTS
    assert pd.isna(frame.loc["e-list", "requestParameters"]) and pd.isna(frame.loc["e-describe", "responseElements"])
    assert "roleArn" in frame.loc["e-assume", "requestParameters"]
    response = frame.loc["e-assume", "responseElements"]
    assert "ASIANEWNEWNEWNEWNEW1" in response and "assumed-role/admin/x" in response and token not in response
    assert raw_record(frame, "e-assume")["responseElements"]["credentials"]["sessionToken"] == token
    whole = load_compact(str(tmp_path), start, end, 3).frame       # without needs: every column, every body
    assert "requestID" in whole.columns and token in whole.set_index("eventID").loc["e-assume", "responseElements"]


def test_window_calls_by_aws_services_are_compact_unless_a_check_reads_them(tmp_path):
    """The window's calls AWS services make as themselves (no access key) are compact rows of the window, never
    grouped with the baseline's: KMS decrypts for EBS alike are one row with their count and last time; the same
    service's AssumeRole (its response names credentials a check follows) and a service call that carries an access
    key stay whole; the credentials table and the coverage count them as the memory engine does."""
    service = {"type": "AWSService", "invokedBy": "ec2.amazonaws.com"}
    rows = []
    for day in range(5, 11):
        for k in range(3):
            rows.append(record(f"d-{day}-{k}", f"2026-10-{day:02d}T0{k}:10:00Z", "Decrypt", userIdentity=service,
                               eventSource="kms.amazonaws.com", sourceIPAddress="ec2.amazonaws.com",
                               userAgent="ec2.amazonaws.com"))
    rows.append(record("e-assume", "2026-10-10T05:00:00Z", "AssumeRole", userIdentity=service,
                       eventSource="sts.amazonaws.com", sourceIPAddress="ec2.amazonaws.com",
                       userAgent="ec2.amazonaws.com",
                       responseElements={"credentials": {"accessKeyId": "ASIAROLEROLEROLEROL1"}}))
    rows.append(record("e-keyed", "2026-10-10T06:00:00Z", "Decrypt", eventSource="kms.amazonaws.com",
                       userIdentity={**service, "accessKeyId": "ASIAKEYEDKEYEDKEYED1"},
                       sourceIPAddress="ec2.amazonaws.com", userAgent="ec2.amazonaws.com"))
    rows += [record(f"a-{day}", f"2026-10-{day:02d}T09:00:00Z", "ListBuckets") for day in range(5, 11)]
    write_gz(s3_path(tmp_path, "111122223333", "us-east-1", "20261010T0100Z"), {"Records": rows})
    start, end = pd.Timestamp("2026-10-10", tz="UTC"), pd.Timestamp("2026-10-11", tz="UTC")
    loaded = load_compact(str(tmp_path), start, end, 5, needs=NEEDS)
    frame = loaded.frame
    window = frame[frame["eventTime"] >= start]
    decrypts = window[(window["eventName"] == "Decrypt") & window["userIdentity.accessKeyId"].isna()]
    assert len(decrypts) == 1 and decrypts["calls"].tolist() == [3]
    assert decrypts["eventID"].tolist() == ["d-10-0"] and decrypts["lastTime"].iloc[0].hour == 2
    assert {"e-assume", "e-keyed", "a-10"} <= set(window["eventID"])
    assert (loaded.window_compact_rows, loaded.window_compact_events) == (1, 3)
    assert len(frame) - len(loaded.compact_at) == len(window) - 1 + (frame["eventTime"] < start).sum() \
        - loaded.compact_rows
    kw = {"source": str(tmp_path), "start": "2026-10-10", "end": "2026-10-11", "baseline_days": 5}
    a, b = investigate(**kw, engine="memory"), investigate(**kw, engine="duckdb")
    _same(a, b)
    ec2 = b.analysis.credentials.set_index("credential").loc["service:ec2.amazonaws.com"]
    assert ec2["calls"] == 4        # the three decrypts (one compact row) and the AssumeRole; the keyed call is its key's
    assert any("calls AWS services made as themselves" in n for n in b.analysis.notes)


def test_baseline_calls_delivered_after_the_window_began(tmp_path, monkeypatch):
    """The scan aggregates the baseline's rows in one DuckDB statement, ended at the first slice with rows of the
    window, and the rest in a second: a baseline call whose file came after the window began (a late delivery) is a
    second compact row alike, whose counts and times add up to what one statement gives; the answers stay the
    memory engine's."""
    from trailtools.investigations.login import history
    from trailtools.sources import scan as scan_mod

    monkeypatch.setattr(scan_mod, "GROUP_FILES_MIN", 1)     # a group per two days' files (read back a day at a time)
    monkeypatch.setattr(scan_mod, "GROUP_BYTES", 1)
    statements = []
    aggregate = history._aggregate
    monkeypatch.setattr(history, "_aggregate", lambda *a: statements.append(aggregate(*a)) or statements[-1])
    for day in range(5, 10):
        write_gz(s3_path(tmp_path, "111122223333", "us-east-1", f"202610{day:02d}T0905Z"),
                 {"Records": [record(f"b-{day}", f"2026-10-{day:02d}T09:00:00Z", "DescribeInstances")]})
    write_gz(s3_path(tmp_path, "111122223333", "us-east-1", "20261010T0005Z"),
             {"Records": [record("w-1", "2026-10-10T00:01:00Z", "DescribeInstances")]})
    write_gz(s3_path(tmp_path, "111122223333", "us-east-1", "20261011T0005Z"),
             {"Records": [record("late", "2026-10-09T23:58:00Z", "DescribeInstances"),
                          record("w-2", "2026-10-11T00:01:00Z", "DescribeInstances")]})
    start, end = pd.Timestamp("2026-10-10", tz="UTC"), pd.Timestamp("2026-10-12", tz="UTC")
    loaded = load_compact(str(tmp_path), start, end, 5, needs=NEEDS)
    assert [sum(r["calls"] for r in t.to_pylist() if r["_set"] == 0) for t in statements] == [5, 1]
    frame = loaded.frame
    base = frame[frame["eventTime"] < start]
    assert base["eventID"].tolist() == ["b-5", "late"] and base["calls"].tolist() == [5, 1]
    assert base["lastTime"].tolist() == [pd.Timestamp("2026-10-09T09:00:00Z"), pd.Timestamp("2026-10-09T23:58:00Z")]
    assert loaded.history_events == 6 and loaded.hourly["calls"].sum() == 6
    assert frame.loc[frame["eventTime"] >= start, "eventID"].tolist() == ["w-1", "w-2"]
    kw = {"source": str(tmp_path), "start": "2026-10-10", "end": "2026-10-12", "baseline_days": 5}
    _same(investigate(**kw, engine="memory"), investigate(**kw, engine="duckdb"))


def test_a_scan_groups_files_by_their_bytes(tmp_path):
    """A group holds about GROUP_BYTES of files (so that the cold parse uses every core), whatever their size."""
    from trailtools.sources import scan as scan_mod

    trail = _trail(tmp_path / "t", 2)
    query = Query(start=pd.Timestamp("2026-10-01", tz="UTC").to_pydatetime(),
                  end=pd.Timestamp("2026-10-11", tz="UTC").to_pydatetime())
    s = scan_mod.Scan(str(trail), query)
    files = sum(len(c.paths) for c in s.plan.chunks)
    each = sum(p.stat().st_size for p in trail.rglob("*.json.gz")) / files
    expected = min(scan_mod.GROUP_FILES_MAX, max(scan_mod.GROUP_FILES_MIN, scan_mod.GROUP_BYTES / each))
    assert abs(s.group_files() - expected) <= 0.1 * expected      # (a sample of the files' sizes)
    assert sum(len(g) for g in s.groups()) == len(s.plan.chunks)
    # a day larger than a group still goes with another, so that a cold scan parses on both cores; a warm one not
    s.options = dataclasses.replace(s.options, workers=2)
    s.group_files = lambda: 1
    assert [len(g) for g in s.groups()][:-1] == [2] * (len(s.groups()) - 1) and len(s.plan.chunks) > 2
    s.forks = False
    assert [len(g) for g in s.groups()] == [1] * len(s.plan.chunks)


def test_a_warm_scan_starts_no_worker_and_gives_the_same_rows(tmp_path, monkeypatch):
    """A scan the cache holds whole says so (DuckDB then runs on every core): it starts no worker process, even for a
    chunk whose entry turns out damaged (parsed in this process), and gives the rows a cold scan gave."""
    from trailtools.events import cache, parallel
    from trailtools.sources import scan as scan_mod

    trail = _trail(tmp_path / "t", 2)
    query = Query(start=pd.Timestamp("2026-10-01", tz="UTC").to_pydatetime(),
                  end=pd.Timestamp("2026-10-11", tz="UTC").to_pydatetime())
    cold = scan_mod.Scan(str(trail), query)
    assert not cold.warm() and cold.forks
    rows = [r for t in cold.results() for r in t.drop_columns(["_row"]).to_pylist()]
    warm = scan_mod.Scan(str(trail), query)
    assert warm.warm() and not warm.forks
    damaged = warm.plan.chunks[0]
    cache.entry_path(damaged.key).write_bytes(b"not an Arrow file")
    asked = []
    real = parallel.run
    monkeypatch.setattr(scan_mod.parallel, "run", lambda todo, **kw: asked.append(kw["workers"]) or real(todo, **kw))
    again = [r for t in warm.results() for r in t.drop_columns(["_row"]).to_pylist()]
    assert asked == [1]       # the damaged chunk, parsed here
    assert again == rows and len(rows) > 100


def test_a_cold_scan_reads_its_rows_back_from_the_cache_or_parses_them_whole(tmp_path, monkeypatch):
    """A cold scan's workers hand back only the counts and the rows are read back from the entries they wrote (a
    slice at a time, never a day's whole table in this process); where the cache cannot be written, the chunks are
    parsed again whole: the same rows and counts either way."""
    from trailtools.events import cache
    from trailtools.sources import scan as scan_mod

    trail = _trail(tmp_path / "t", 2)
    query = Query(start=pd.Timestamp("2026-10-01", tz="UTC").to_pydatetime(),
                  end=pd.Timestamp("2026-10-11", tz="UTC").to_pydatetime())
    light = scan_mod.Scan(str(trail), query)
    rows = [r for t in light.results() for r in t.drop_columns(["_row"]).to_pylist()]
    assert light.light and len(rows) > 100
    monkeypatch.setenv("TRAILTOOLS_CACHE_DIR", str(tmp_path / "elsewhere"))
    monkeypatch.setattr(cache, "write", lambda *a, **k: None)      # a cache that cannot be written
    whole = scan_mod.Scan(str(trail), query)
    again = [r for t in whole.results() for r in t.drop_columns(["_row"]).to_pylist()]
    assert not whole.light and again == rows
    assert whole.counts.files_read == light.counts.files_read and whole.rows == light.rows == len(rows)


def test_duckdb_draws_no_progress_bar_on_stdout(capfd):
    # DuckDB draws a progress bar on stdout for a query of more than 2 s (seen on a loaded machine: in the middle of
    # a command's output); the history's connection turns it off
    from trailtools.investigations.login import history

    slow = "SELECT sum(i * i) FROM range(20000000) t(i)"
    con = history.connect(1)
    try:
        assert con.execute("SELECT current_setting('enable_progress_bar')").fetchall() == [(False,)]
        con.execute("SET progress_bar_time=0")  # as if every query took longer than the bar's delay
        capfd.readouterr()
        con.execute(slow).fetchall()
        assert "100%" in capfd.readouterr().out  # the bar this test is about: drawn when it is on
        con.execute("SET enable_progress_bar=false")  # as connect() leaves it
        capfd.readouterr()
        con.execute(slow).fetchall()
        assert capfd.readouterr().out == ""
    finally:
        con.close()


def test_assemble_puts_compact_rows_in_time_order_and_keeps_every_text():
    """The whole rows and the compact rows merged by time then ``_ord``: texts the compact rows lack (the JSON
    bodies, in pieces as the scan leaves them) empty on their rows, every whole row's text where its row went."""
    from trailtools.investigations.login.history import assemble

    t = pd.to_datetime(["2026-10-01T01:00Z", "2026-10-01T02:00Z", "2026-10-01T02:00Z", "2026-10-02T00:00Z"], utc=True)
    body = pd.Series(pd.array(pa.chunked_array([pa.array(['{"a":1}', None], pa.large_string()),
                                                pa.array(["", "", '{"b":"é"}'], pa.large_string()).slice(1),
                                                pa.array([], pa.large_string())]), dtype="str"))
    frame = pd.DataFrame({"eventTime": t, "eventName": pd.Categorical(["A", "B", "C", "D"]),
                          "eventID": pd.Series(["w1", "w2", "w3", "w4"], dtype="str"), "_ord": [1, 5, 7, 9],
                          "requestParameters": body})
    compact = pd.DataFrame({"eventTime": pd.to_datetime(["2026-10-01T02:00Z", "2026-10-01T00:00Z"], utc=True),
                            "eventName": ["E", "A"], "eventID": ["c1", "c2"], "_ord": [6, 0]})
    uneven = compact.assign(eventID=["c1", "c-two"])   # IDs of different lengths: assembled the general way
    again, _ = assemble(frame.copy(), uneven, pd.Timestamp("2026-10-01T12:00Z"))
    assert again["eventID"].tolist() == ["c-two", "w1", "w2", "c1", "w3", "w4"]
    both, at = assemble(frame, compact, pd.Timestamp("2026-10-01T12:00Z"))
    assert both["eventID"].tolist() == ["c2", "w1", "w2", "c1", "w3", "w4"] and at.tolist() == [0, 3]
    assert both.drop(columns="eventID").equals(again.drop(columns="eventID"))
    assert "_ord" not in both.columns     # (it sorted the rows; nothing reads it after)
    texts = both["requestParameters"]
    assert texts.iloc[1] == '{"a":1}' and texts.iloc[4] == "" and texts.iloc[5] == '{"b":"é"}'
    assert texts.isna().tolist() == [True, False, True, True, False, False]
    assert str(both["requestParameters"].dtype) == "str" and list(both["eventName"].astype(str)) == \
        ["A", "A", "B", "E", "C", "D"]


def test_spread_texts_of_one_chunk_keep_its_bytes():
    """The JSON bodies of one chunk (what the frame's sort leaves) spread among compact rows reuse that chunk's
    bytes (no copy); several chunks, a sliced one, empty and missing texts come out where their rows went."""
    from trailtools.investigations.login.history import _spread

    one = pa.array(["x", "yy", None, "", "zzz"], pa.large_string()).slice(1)
    out = _spread([one], np.array([0, 2, 3, 5]), 7)
    out.validate(full=True)
    assert out.to_pylist() == ["yy", None, None, "", None, "zzz", None]
    assert out.buffers()[2].address == one.buffers()[2].address       # the same bytes
    several = [pa.array(["a", None], pa.large_string()), pa.array([], pa.large_string()),
               pa.array(["", "bcd"], pa.large_string()).slice(1)]
    assert _spread(several, np.array([1, 2, 4]), 5).to_pylist() == [None, "a", None, None, "bcd"]
    assert _spread([pa.array(["", ""], pa.large_string())], np.array([1, 2]), 3).to_pylist() == [None, "", ""]
    assert _spread([pa.array([None, None], pa.large_string())], np.array([0, 1]), 3).to_pylist() == [None] * 3


def test_rows_kept_own_narrow_dictionary_codes():
    """The rows kept hold their dictionary codes as narrow as each dictionary allows, one type a column even where
    its chunks' dictionaries differ in size (a parsed chunk of pieces), with the same values."""
    from trailtools.investigations.login.history import _own

    small = pa.array(["a", "b", None, "a"]).dictionary_encode()
    large = pa.array([f"v{i}" for i in range(300)] + [None]).dictionary_encode()
    table = pa.table({"x": pa.chunked_array([small, large]),
                      "y": pa.chunked_array([small, pa.array(["c"] * 301).dictionary_encode()])})
    owned = _own(table)
    assert owned.schema.field("x").type.index_type == pa.int16()
    assert owned.schema.field("y").type.index_type == pa.int8()
    assert owned.column("x").to_pylist() == table.column("x").to_pylist()
    assert owned.column("y").to_pylist() == table.column("y").to_pylist()


def test_rows_kept_whole_are_made_in_a_thread_only_when_the_scan_is_warm(tmp_path, monkeypatch):
    """A warm scan makes the window's rows kept whole (tokens cut, buffers their own) in a thread beside the DuckDB
    statement, a slice behind at most; a cold one, which may fork parsing workers from the statement's callback,
    starts no such thread. The frame is the same either way, row for row and in order."""
    from trailtools.investigations.login import history
    from trailtools.sources import scan as scan_mod

    monkeypatch.setattr(scan_mod, "GROUP_FILES_MIN", 1)
    monkeypatch.setattr(scan_mod, "GROUP_BYTES", 1)
    monkeypatch.setenv("TRAILTOOLS_CACHE_DIR", str(tmp_path / "cache"))
    for day in range(5, 12):
        write_gz(s3_path(tmp_path / "t", "111122223333", "us-east-1", f"202610{day:02d}T0905Z"),
                 {"Records": [record(f"e-{day}-{i}", f"2026-10-{day:02d}T09:{i:02d}:00Z", "AssumeRole")
                              for i in range(3)]})
    started = []
    real = history.ThreadPoolExecutor
    monkeypatch.setattr(history, "ThreadPoolExecutor", lambda *a, **k: started.append(1) or real(*a, **k))
    start, end = pd.Timestamp("2026-10-09", tz="UTC"), pd.Timestamp("2026-10-12", tz="UTC")
    cold = load_compact(str(tmp_path / "t"), start, end, 4, needs=NEEDS)
    assert started == []
    warm = load_compact(str(tmp_path / "t"), start, end, 4, needs=NEEDS)
    assert started == [1]
    pd.testing.assert_frame_equal(cold.frame, warm.frame)
    assert warm.frame.loc[warm.frame["eventTime"] >= start, "eventID"].tolist() == [
        f"e-{day}-{i}" for day in range(9, 12) for i in range(3)]
