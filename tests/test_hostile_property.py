"""The loader on random bytes and on mutated real CloudTrail files (issue 17): ``load_events`` never raises, one
bad file never costs another, and no record is lost without being counted.

Each hostile file is loaded beside a good one (the anchor), in its own folder, on both reading paths (the native
scanner's and the pure Python one), which must give the same frame and statistics. Where the file is valid enough
to count its records independently (a whole JSON document, or whole documents one after the other), every record
position is accounted for: in the frame, dropped as a duplicate, or skipped with a reason. Where it is not, the
loss is said: the file, or the lines of it that could not be read, are listed with a reason.
"""
from __future__ import annotations

import gzip
import json
from collections import Counter
from functools import lru_cache
from pathlib import Path

import pytest
from conftest import record, s3_path
from hostile_h17_times import (
    ACCOUNT,
    ANCIENT_TIME,
    DELIVERED,
    FUTURE_TIME,
    IMPOSSIBLE_TIMES,
    NAIVE_TIME,
    countable,
    mutate,
    real_files,
    write,
)
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from trailtools import load_events
from trailtools.events import table

ANCHOR = "a0000000-0000-4000-8000-00000000anch"
KINDS = ["truncate", "flip", "insert", "delete", "repeat", "time"]
TIMES = [t.encode() for t in IMPOSSIBLE_TIMES + [NAIVE_TIME, ANCIENT_TIME, FUTURE_TIME, "", "bad", "2026-11-03"]]
junk = st.binary(min_size=1, max_size=8) | st.sampled_from(TIMES + [b"}", b"]", b"{", b"[", b",", b'"', b"\\",
                                                                   b"\x00", b"\xff", b"\n", b" \n{"])
ops = st.lists(st.tuples(st.sampled_from(KINDS), st.integers(0, 1 << 20), junk), min_size=1, max_size=3)
PATHS = [True, False] if table._scan is not None else [False]


@lru_cache(maxsize=1)
def _real() -> tuple[bytes, ...]:
    return tuple(real_files())


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """One folder for every example (rewritten each time; loads here never use the cache): making and removing
    folders costs more than a load of two small files on these machines."""
    root = tmp_path_factory.mktemp("hostile")
    write(root / "anchor.json", json.dumps({"Records": [record(ANCHOR, "2026-11-03T10:00:00Z")]}).encode())
    return root


def _key(res) -> list:
    f = res.frame
    return list(zip(f["eventID"], f["eventTime"], f["_file"], f["_index"], f["eventName"], f["userAgent"]))


def check(root: Path, data: bytes) -> None:
    """Load ``data`` as a delivered log file beside a good file, on both paths; check the accounting."""
    path = str(write(s3_path(root, ACCOUNT, "us-east-1", DELIVERED), data))
    results = []
    saved = table.NATIVE
    try:
        for native in PATHS:
            table.NATIVE = native
            results.append(load_events(str(root), cache=False, workers=1, progress=False))  # must not raise
    finally:
        table.NATIVE = saved
    res = results[0]
    s = res.stats
    assert ANCHOR in set(res.frame["eventID"])  # one bad file never costs another
    # every record position is in the frame, dropped as a duplicate or skipped with a reason
    assert s.records_seen == s.events + s.duplicates_dropped + s.filtered_out + s.records_skipped
    assert all(x.reason for x in s.skipped)
    file_skips = [x for x in s.skipped if x.path == path and x.record is None]
    record_skips = Counter(x.path for x in s.skipped if x.record is not None)
    counted = countable(data)
    if counted is None:  # not valid as a whole: what could not be read is said, or nothing was lost
        whole = countable(data, errors="surrogateescape")  # (bytes that are not UTF-8 in a name the reader ignores)
        assert (file_skips or record_skips[path] or whole == ("records", s.records_seen - 1)
                or s.digest_files == 1), (data[:200], s.to_dict())  # a digest is recognized, not read as events
    elif counted[0] == "records":
        assert s.records_seen == counted[1] + 1, (data[:200], s.to_dict())
        assert s.files_read == 2
    else:  # valid JSON, not events
        assert s.records_seen == 1 and (s.digest_files if counted[0] == "digest" else s.other_files) == 1
    # both reading paths give the same rows and the same statistics
    for other in results[1:]:
        assert _key(other) == _key(res)
        a, b = other.stats.to_dict(), s.to_dict()
        a.pop("elapsed_s"), b.pop("elapsed_s")
        assert a == b


SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


_GZ = gzip.compress(b'{"Records": [{"eventTime": "2026-11-03T10:00:00Z"}]}')


@settings(max_examples=40, **SETTINGS)
@given(st.binary(max_size=400), st.booleans())
@example(b"null", False)  # was read as a file with no records and no reason
@example(_GZ[:10] + b"\xff" + _GZ[11:], False)  # a corrupt deflate block made the load raise (isal's own error)
def test_random_bytes(folder, data, gz):
    check(folder, gzip.compress(data) if gz else data)


@settings(max_examples=60, **SETTINGS)
@given(st.data(), ops, st.sampled_from(["plain", "gzip", "gzip then mutate"]))
def test_mutated_real_files(folder, data, mutations, how):
    real = _real()
    if not real:
        pytest.skip("shared datasets not found (tests/conftest.py: DATASETS)")
    base = data.draw(st.sampled_from(real), label="real file")
    if how == "gzip then mutate":
        text = mutate(gzip.compress(base), mutations)
    else:
        text = mutate(base, mutations)
        text = gzip.compress(text) if how == "gzip" else text
    check(folder, text)
