"""The fast reader gives exactly the frame of the straightforward one.

The straightforward reader (the one the fast paths replaced; kept here as the reference) builds each chunk's table
from all its records at once (``table.build``), concatenates the chunks in file order, drops rows outside the query,
drops the copies of a record with the same eventID and content keeping the first in file order (copies that
differ are kept), sorts by eventTime (stable) with one ``take`` and converts to pandas. The fast reader streams rows into Arrow a few hundred at a time, sorts each chunk in the
worker, and merges sorted runs without copying them. Columns, dtypes (categories included), values, row order and
load statistics must not differ, on bad input, real third-party data and a synthetic trail with late deliveries,
duplicates and ties.
"""
from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from conftest import record, s3_path, write_gz

from trailtools import Query, load_events
from trailtools.events import chunk, frame, parallel, reader, table
from trailtools.sources import local

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"


# ---------------------------------------------------------------- the reference reader

def _reference_chunk(paths: list[str]) -> tuple[pa.Table, list]:
    records, files, indices, skips = [], [], [], []
    for path in paths:
        parsed = reader.parse(Path(path).read_bytes())
        if parsed.kind is not None:
            continue
        for pos, reason in parsed.skipped:
            if pos is not None:
                skips.append((path, pos, reason))
        records.extend(parsed.records)
        indices.extend(parsed.indices)
        files.extend([path] * len(parsed.records))
    if not records:
        return table.SCHEMA.empty_table(), skips
    built, bad = table.build(records, files, indices)
    skips.extend((files[row], indices[row], reason) for row, reason in bad)
    return built, skips


def _identical_copies(t: pa.Table) -> pa.Array | None:
    """Rows whose record (read again from its file, as canonical JSON) is the record of an earlier row with the
    same eventID: CloudTrail's own duplicates. Copies that differ are kept."""
    seen, dup, files = set(), [], {}
    for event_id, path, index in zip(*(t.column(c).to_pylist() for c in ("eventID", "_file", "_index"))):
        if path not in files:
            files[path] = reader.raw_records(Path(path).read_bytes())
        key = (event_id, json.dumps(files[path][index], sort_keys=True))
        dup.append(event_id is not None and key in seen)
        seen.add(key)
    return pa.array(dup, pa.bool_()) if any(dup) else None


def _reference_finish(tables: list[pa.Table], query: Query) -> tuple[pd.DataFrame, int, int]:
    t = pa.concat_tables(tables) if tables else table.SCHEMA.empty_table()
    mask = frame.query_mask(t, query)
    filtered = 0
    if mask is not None:
        kept = t.filter(mask)
        filtered, t = t.num_rows - kept.num_rows, kept
    dup = _identical_copies(t)
    dups = 0
    if dup is not None:
        dups = pc.sum(dup).as_py()
        t = t.filter(pc.invert(dup))
    t = t.take(pc.sort_indices(t, sort_keys=[("eventTime", "ascending")]))
    return t.to_pandas(types_mapper=frame._types_mapper, split_blocks=True), filtered, dups


def assert_same_frame(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.columns) == list(b.columns)
    for c in a.columns:
        assert a[c].dtype == b[c].dtype, c
        if isinstance(a[c].dtype, pd.CategoricalDtype):
            assert list(a[c].cat.categories) == list(b[c].cat.categories), c
    pd.testing.assert_frame_equal(a, b, check_exact=True, check_categorical=True)


# ---------------------------------------------------------------- inputs

def _bad_folder(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    base = record("0a000000-0000-4000-8000-000000000000", "2026-11-03T10:00:00Z")
    recs = [record(f"0b{i:06d}-0000-4000-8000-000000000000", f"2026-11-03T10:{i % 60:02d}:00Z") for i in range(40)]
    write_gz(root / "good.json.gz", {"Records": recs})
    full = gzip.compress(json.dumps({"Records": recs * 3}).encode())
    (root / "trunc.json.gz").write_bytes(full[: len(full) // 2])
    (root / "empty.json.gz").write_bytes(b"")
    (root / "invalid.json").write_text('{"Records": [ {"eventTime": ')
    no_time = dict(base)
    no_time.pop("eventTime")
    (root / "mixed.json").write_text(json.dumps({"Records": [
        no_time, dict(base, eventTime="yesterday", eventID="x1"),
        dict(base, eventTime="2026-11-03T10:00:01.123+02:00", eventID="x2"), dict(base, eventID="x3")]}))
    (root / "odd.json").write_text(json.dumps({"Records": [dict(base, eventID="x4", sourceIPAddress=12345,
                                                                   readOnly="true")]}))
    (root / "lines.jsonl").write_text("\n".join(json.dumps(dict(base, eventID=f"l{i}")) for i in range(3))
                                      + "\nnot json\n")
    (root / "array.json").write_text(json.dumps([dict(base, eventID="a1"), 5]))
    (root / "lookup.json").write_text(json.dumps({"Events": [
        {"CloudTrailEvent": json.dumps(dict(base, eventID="k1"))}, {"x": 1}]}))
    (root / "digest.json").write_text(json.dumps({"digestStartTime": "x", "logFiles": []}))
    (root / "other.json").write_text(json.dumps({"hello": 1}))
    (root / "nonutf8.json").write_bytes(b'{"Records":[{"eventTime":"2026-11-03T10:00:05Z","eventID":"u1",'
                                        b'"requestParameters":{"a":"\xff\xfe"}}]}')
    (root / "pretty.json").write_text(json.dumps({"Records": [dict(base, eventID="p1", requestParameters={
        "instanceId": "i-0123456789abcdef0", "n": 1.50})]}, indent=2))
    (root / "dup.json").write_text(json.dumps({"Records": recs[:5]}))
    # the same eventID twice with different content and times: both are kept (a conflict); "GG" delivered twice,
    # identical: the copy in the first file is kept
    (root / "dupdiff1.json").write_text(json.dumps({"Records": [
        dict(base, eventID="DD", eventTime="2026-11-03T10:00:10Z", eventName="First"),
        dict(base, eventID="EE", eventTime="2026-11-03T10:00:10Z", eventName="TieA"),
        dict(base, eventID="GG", eventTime="2026-11-03T10:00:07Z", eventName="Again")]}))
    (root / "dupdiff2.json").write_text(json.dumps({"Records": [
        dict(base, eventID="DD", eventTime="2026-11-03T10:00:05Z", eventName="Second"),
        dict(base, eventID="FF", eventTime="2026-11-03T10:00:10Z", eventName="TieB"),
        dict(base, eventID="GG", eventTime="2026-11-03T10:00:07Z", eventName="Again"),
        dict(base, eventID=None, eventTime="2026-11-03T10:00:01Z"),
        dict(base, eventID=None, eventTime="2026-11-03T10:00:01Z")]}))
    return root


def _trail(root: Path, *, days: int = 3, seed: int = 5) -> Path:
    """A small S3-layout trail: several regions, 5-minute files, late deliveries across midnight, a duplicate."""
    rng = random.Random(seed)
    n = 0
    for day in range(days):
        for region in ("us-east-1", "eu-west-1", "ap-south-1"):
            for slot in range(0, 24 * 60, 45):
                recs = []
                for _ in range(rng.randint(1, 12)):
                    minute = slot + rng.randint(0, 44)
                    late = rng.random() < 0.15
                    t = f"2026-11-{3 + day:02d}T{minute // 60:02d}:{minute % 60:02d}:{rng.randint(0, 59):02d}Z"
                    recs.append(record(f"{n:08x}-0000-4000-8000-{rng.getrandbits(48):012x}", t,
                                       rng.choice(["RunInstances", "DescribeInstances", "ConsoleLogin"]),
                                       awsRegion=region))
                    n += 1
                    if late and day + 1 < days:  # delivered after midnight, with the next day's files
                        recs[-1]["eventTime"] = f"2026-11-{3 + day:02d}T23:{rng.randint(0, 59):02d}:00Z"
                delivered = f"2026{11:02d}{3 + day:02d}T{slot // 60:02d}{slot % 60:02d}Z"
                write_gz(s3_path(root, "111122223333", region, delivered, uid=f"U{day}{slot}{region[:2]}"),
                         {"Records": recs})
    dup = record("ffffffff-0000-4000-8000-000000000000", "2026-11-04T00:00:00Z")
    write_gz(s3_path(root, "111122223333", "us-east-1", "20261104T0100Z", uid="DUP1"), {"Records": [dup]})
    write_gz(s3_path(root, "111122223333", "us-east-1", "20261104T0200Z", uid="DUP2"), {"Records": [dup]})
    return root


def _sources(tmp_path: Path) -> list[Path]:
    out = [_bad_folder(tmp_path / "bad"), _trail(tmp_path / "trail")]
    for name in ("stratus-red-team-detonation-logs", "awsdocs-examples"):
        if (DATASETS / name).is_dir():
            out.append(DATASETS / name)
    return out


# ---------------------------------------------------------------- the checks

@pytest.mark.parametrize("sizes", [(1, 1), (7, 16), (48, 512)])
def test_streamed_chunk_table_is_the_reference_table_sorted(tmp_path, monkeypatch, sizes):
    monkeypatch.setattr(table.Builder, "EXTRACT_ROWS", sizes[0])
    monkeypatch.setattr(table.Builder, "FLUSH_ROWS", sizes[1])
    for source in _sources(tmp_path):
        paths = sorted(str(p) for p in source.rglob("*") if p.is_file())
        got = chunk.parse_chunk(chunk.Chunk(paths))
        ref, ref_skips = _reference_chunk(paths)
        assert got.record_skips == ref_skips
        rows = got.table.column(table.ROW).to_numpy()
        back = got.table.drop_columns([table.ROW]).take(pa.array(np.argsort(rows)))
        assert back.equals(ref.combine_chunks()) or back.to_pylist() == ref.to_pylist(), source
        assert back.schema == ref.schema


@pytest.mark.parametrize("query", [Query(), Query(start="2026-11-04", end="2026-11-05"),
                                   Query(event_names=["ConsoleLogin"]), Query(start="2030-01-01")])
def test_merge_gives_the_reference_frame(tmp_path, monkeypatch, query):
    monkeypatch.setattr(frame, "MIN_RUN", 4)  # many slices and takes even on a small trail
    root = _trail(tmp_path / "trail")
    paths = sorted(str(p) for p in root.rglob("*.json.gz"))
    groups = [paths[i:i + 37] for i in range(0, len(paths), 37)]
    sorted_tables = [chunk.parse_chunk(chunk.Chunk(g)).table for g in groups]
    # several chunks merged into one batch as the workers do, and single chunks as the cache serves them
    merged = [chunk.merge([chunk.ChunkResult(t) for t in sorted_tables[:3]]).table] + sorted_tables[3:]
    reference = [_reference_chunk(g)[0] for g in groups]
    got, filtered, dups = frame.finish(merged, query)
    want, want_filtered, want_dups = _reference_finish(reference, query)
    assert (filtered, dups) == (want_filtered, want_dups)
    assert_same_frame(got, want)


@pytest.mark.parametrize("workers", [1, 2])
def test_loads_match_the_reference_reader(tmp_path, monkeypatch, workers):
    monkeypatch.setattr(parallel, "IN_PROCESS_BYTES", 0)  # worker processes even for small inputs
    for source in _sources(tmp_path):
        for query in (Query(), Query(start="2026-11-04", end="2026-11-05")):
            res = load_events(str(source), query, cache=False, workers=workers, progress=False)
            plan = local.plan_local(Path(source), query, use_cache=False)
            want, filtered, dups = _reference_finish([_reference_chunk(c.paths)[0] for c in plan.chunks], query)
            assert (res.stats.filtered_out, res.stats.duplicates_dropped) == (filtered, dups)
            assert_same_frame(res.frame, want)


def test_cold_and_warm_cache_give_the_frame_of_a_load_without_it(tmp_path):
    root = _trail(tmp_path / "trail")
    plain = load_events(str(root), cache=False, progress=False)
    cold = load_events(str(root), cache=True, progress=False)
    warm = load_events(str(root), cache=True, progress=False)
    assert warm.stats.files_cached == warm.stats.files_read > 0
    for res in (cold, warm):
        assert_same_frame(res.frame, plain.frame)
        assert res.stats.duplicates_dropped == plain.stats.duplicates_dropped == 1
