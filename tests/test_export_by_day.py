"""Exports larger than memory (issue 21 item 3): ``trailtools events`` writes a local trail day by day, and the result
is the whole load's, row for row; ``--partition day`` writes hive-style Parquet that DuckDB reads by day."""
from __future__ import annotations

import json

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest
from conftest import record, s3_path, write_gz

from trailtools.cli import main
from trailtools.events import by_day
from trailtools.events.load import load_events
from trailtools.events.output import PartWriter
from trailtools.events.query import Query
from trailtools.events.result import LoadOptions
from trailtools.sources.local import Parts

ACCOUNT, REGION = "111122223333", "us-east-1"


def _comparable(frame: pd.DataFrame) -> list[tuple]:
    cols = ["eventID", "eventTime", "eventName", "actor", "requestParameters", "_file", "_index"]
    return [tuple(str(v) for v in row) for row in frame[cols].itertuples(index=False)]


@pytest.fixture
def trail(tmp_path):
    """Three delivery days, with what a streamed export must get right: an event of day 1 delivered on day 2 (late,
    within the margin), one delivered on day 3 (more than a part late), an identical copy delivered again the next
    day (one event), and a conflicting copy (same eventID, other content: both kept and listed)."""
    root = tmp_path / "trail"
    write_gz(s3_path(root, ACCOUNT, REGION, "20261101T1200Z", uid="a1"), {"Records": [
        record("e-1", "2026-11-01T10:00:00Z"), record("e-2", "2026-11-01T11:55:00Z", "RunInstances"),
        record("dup-same", "2026-11-01T11:58:00Z"), record("dup-diff", "2026-11-01T11:59:00Z")]})
    write_gz(s3_path(root, ACCOUNT, REGION, "20261102T0010Z", uid="b1"), {"Records": [
        record("late-1", "2026-11-01T23:58:00Z", "StopInstances"),      # day 1, delivered after midnight
        record("dup-same", "2026-11-01T11:58:00Z"),                     # the same event again
        record("dup-diff", "2026-11-01T11:59:00Z", "TerminateInstances"),  # same ID, other content
        record("e-3", "2026-11-02T00:05:00Z")]})
    write_gz(s3_path(root, ACCOUNT, REGION, "20261103T0900Z", uid="c1"), {"Records": [
        record("very-late", "2026-11-01T15:00:00Z", "RebootInstances"),  # two days late
        record("e-4", "2026-11-03T08:59:00Z")]})
    return root


def _stream(source, query=None, files_per_part=1, fmt="jsonl", output=None, partition=None):
    parts = Parts(str(source), query or Query(), LoadOptions(cache=False), files_per_part=files_per_part)
    writer = PartWriter(fmt, output, partition=partition)
    try:
        stats = by_day.export_by_day(parts, writer)
    finally:
        writer.close()
    return stats


def test_each_file_is_read_once_and_the_days_come_out_whole_and_sorted(trail, tmp_path):
    out = tmp_path / "events.jsonl"
    stats = _stream(trail, output=str(out))
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    ids = [r["eventID"] for r in rows]
    # day 1 complete (with its late event) and sorted; the event two days late follows it when it arrives, before
    # the days still open (day 2, day 3)
    assert ids == ["e-1", "e-2", "dup-same", "dup-diff", "dup-diff", "late-1", "very-late", "e-3", "e-4"]
    assert stats.files_read == 3 and stats.events == len(rows) == 9
    assert stats.duplicates_dropped == 1
    assert stats.conflicting_duplicates == 1 and stats.conflicts[0]["eventID"] == "dup-diff"
    assert any("1 events were delivered more than a day after" in n for n in stats.notes)


def test_the_same_events_as_a_whole_load(trail):
    whole = load_events(str(trail), cache=False)
    out = []

    class Collect(PartWriter):
        def __init__(self):
            self.fmt = "jsonl"

        def write(self, frame, day=None):
            out.append(frame)

        def close(self):
            pass

    stats = by_day.export_by_day(Parts(str(trail), Query(), LoadOptions(cache=False), files_per_part=1), Collect())
    streamed = pd.concat(out)
    assert sorted(_comparable(streamed)) == sorted(_comparable(whole.frame))
    for name in ("files_read", "records_seen", "duplicates_dropped", "conflicting_duplicates", "events"):
        assert getattr(stats, name) == getattr(whole.stats, name), name


def test_a_window_is_applied_as_in_a_whole_load(trail, tmp_path):
    out = tmp_path / "w.jsonl"
    stats = _stream(trail, Query(start="2026-11-02", end="2026-11-03"), output=str(out))
    ids = [json.loads(line)["eventID"] for line in out.read_text().splitlines()]
    whole = load_events(str(trail), Query(start="2026-11-02", end="2026-11-03"), cache=False)
    assert ids == list(whole.frame["eventID"]) == ["e-3", "e-4"]
    assert stats.events == 2


@pytest.mark.slow
def test_demo_export_through_the_cli_equals_the_whole_frame(tmp_path, capsys):
    """The bundled demo account (several thousand files over weeks): the CLI streams it by day and writes what the
    whole load holds, in the same order, with the same statistics."""
    out, stats_file = tmp_path / "demo.parquet", tmp_path / "stats.json"
    assert main(["events", "demo", "--format", "parquet", "-o", str(out), "--stats-json", str(stats_file)]) == 0
    whole = load_events("demo")
    written = pq.read_table(out).to_pandas()
    assert len(written) == len(whole.frame)
    assert list(written["eventID"]) == list(whole.frame["eventID"])
    assert pq.ParquetFile(out).metadata.num_row_groups > 1       # written in parts, not at once
    stats = json.loads(stats_file.read_text())
    for name in ("files_read", "records_seen", "duplicates_dropped", "conflicting_duplicates", "events",
                 "files_seen", "digest_files"):
        assert stats[name] == getattr(whole.stats, name), name


def test_partition_day_writes_hive_partitions_duckdb_reads(trail, tmp_path):
    folder = tmp_path / "by-day"
    assert main(["events", str(trail), "--format", "parquet", "-o", str(folder), "--partition", "day",
                 "--no-cache"]) == 0
    days = sorted(p.name for p in folder.iterdir())
    assert days == ["day=2026-11-01", "day=2026-11-02", "day=2026-11-03"]
    counts = dict(duckdb.sql(f"select day, count(*) from read_parquet('{folder}/*/*.parquet', "
                             "hive_partitioning=true) group by day order by day").fetchall())
    assert {str(k): v for k, v in counts.items()} == {"2026-11-01": 7, "2026-11-02": 1, "2026-11-03": 1}


def test_csv_header_once_and_columns_chosen(trail, tmp_path):
    out = tmp_path / "e.csv"
    parts = Parts(str(trail), Query(), LoadOptions(cache=False), files_per_part=1)
    writer = PartWriter("csv", str(out))
    by_day.export_by_day(parts, writer, columns=["eventTime", "eventID"])
    writer.close()
    lines = out.read_text().splitlines()
    assert lines[0] == "eventTime,eventID" and len(lines) == 10
    assert sum(line.startswith("eventTime") for line in lines) == 1


def test_partition_needs_parquet_and_a_folder(trail, capsys):
    assert main(["events", str(trail), "--format", "jsonl", "--partition", "day"]) == 2
    err = capsys.readouterr().err
    assert "--partition day writes Parquet into a folder" in err and "Traceback" not in err


def test_a_flat_folder_of_files_is_loaded_whole(tmp_path):
    for i in range(3):
        write_gz(tmp_path / "flat" / f"f{i}.json.gz", {"Records": [record(f"x-{i}", f"2026-11-0{i + 1}T10:00:00Z")]})
    assert by_day.streamable(str(tmp_path / "flat"), Query(), LoadOptions(cache=False)) is None
    parts = Parts(str(tmp_path / "flat"), Query(), LoadOptions(cache=False), files_per_part=1)
    assert not parts.dated
