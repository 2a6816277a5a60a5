"""Hostile inputs for issue 17 items 7 (times) and 9 (concatenated documents), and the mutations of the loader's
property test; generated at test time (no large files in git). Shared by tests/test_times.py,
tests/test_concatenated.py and tests/test_hostile_property.py.
"""
from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

from conftest import AWSDOCS, STRATUS, record, s3_path

from trailtools import load_events

ACCOUNT = "111122223333"
#: Dates and times that do not exist, which CloudTrail never writes: rejected (skipped with the reason) everywhere.
IMPOSSIBLE_TIMES = ["2026-02-30T00:00:00Z", "2026-04-31T12:00:00Z", "2026-02-29T00:00:00Z", "2026-11-03T23:59:60Z",
                    "0000-01-01T00:00:00Z"]
#: Times that exist but that CloudTrail would not write for a file delivered at DELIVERED: kept and noted.
NAIVE_TIME = "2026-11-03T10:00:00"                # no zone
ANCIENT_TIME = "2012-06-01T08:00:00Z"             # before CloudTrail existed
FUTURE_TIME = "2026-11-05T10:06:00Z"              # two days after the file was delivered
DELIVERED = "20261103T1005Z"


def load(root):
    """A load of ``root`` as the tests compare it: no cache, one process, no progress bar."""
    return load_events(str(root), cache=False, workers=1, progress=False)


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def trail_file(root: Path, records: list[dict], *, delivered: str = DELIVERED, uid: str = "AbCdEf0123456789") -> Path:
    """A CloudTrail log file where CloudTrail would deliver it (its name carries the delivery time)."""
    return write(s3_path(root, ACCOUNT, "us-east-1", delivered, uid=uid),
                 gzip.compress(json.dumps({"Records": records}).encode()))


def time_records(prefix: str = "t") -> dict[str, dict]:
    """eventID -> record: one good time, the impossible ones, and one of each suspicious kind."""
    times = {f"{prefix}-good": "2026-11-03T10:00:00Z", f"{prefix}-naive": NAIVE_TIME,
             f"{prefix}-ancient": ANCIENT_TIME, f"{prefix}-future": FUTURE_TIME}
    times.update({f"{prefix}-bad{i}": t for i, t in enumerate(IMPOSSIBLE_TIMES)})
    return {eid: record(eid, t) for eid, t in times.items()}


def concatenated(groups: list[list[dict]], *, sep: str = "", indent: int | None = None, array: bool = False) -> bytes:
    """Several CloudTrail documents in one file, one after the other (``sep`` between them)."""
    docs = [json.dumps(g if array else {"Records": g}, indent=indent) for g in groups]
    return sep.join(docs).encode()


def records(prefix: str, n: int, time: str = "2026-11-03T10:00:00Z") -> list[dict]:
    return [record(f"{prefix}-{i:04d}", time) for i in range(n)]


# ---- the property test's inputs ------------------------------------------------------------------------------

def real_files(limit_bytes: int = 20_000) -> list[bytes]:
    """Small real CloudTrail files from the shared datasets (Stratus Red Team arrays, the AWS documentation's
    ``{"Records": [...]}`` examples); empty when the datasets are absent."""
    out = []
    for folder in (STRATUS, AWSDOCS):
        if folder.is_dir():
            out.extend(p.read_bytes() for p in sorted(folder.glob("*.json")) if p.stat().st_size <= limit_bytes)
    return out


def mutate(data: bytes, ops: list[tuple[str, int, bytes]]) -> bytes:
    """Apply mutations ``(kind, at, junk)``; ``at`` is taken modulo the length. Kinds: truncate, flip (one byte
    replaced by junk's first), insert, delete (as many bytes as junk has), repeat (the text doubled: a second document
    after the first), time (every eventTime replaced by junk as text)."""
    for kind, at, junk in ops:
        n = max(len(data), 1)
        i = at % n
        if kind == "truncate":
            data = data[:i]
        elif kind == "flip" and data:
            data = data[:i] + junk[:1] + data[i + 1:]
        elif kind == "insert":
            data = data[:i] + junk + data[i:]
        elif kind == "delete":
            data = data[:i] + data[i + len(junk):]
        elif kind == "repeat":
            data = data + junk[:2].replace(b"\0", b"\n") + data
        elif kind == "time":
            data = _retime(data, junk.decode("latin-1").replace('"', "").replace("\\", ""))
    return data


def _retime(data: bytes, text: str) -> bytes:
    """Every ``"eventTime": "<value>"`` in the text gets ``text`` as its value."""
    return re.sub(rb'("eventTime"\s*:\s*")[^"\\]*(")', lambda m: m.group(1) + text.encode() + m.group(2), data)


def countable(data: bytes, errors: str = "strict") -> tuple[str, int] | None:
    """An independent count of what the loader must account for in one file's bytes, where the bytes are valid
    enough to count them: ("records", n) for a whole JSON document holding n CloudTrail record positions, or for
    whole documents one after the other, some of them CloudTrail (each other document is one position, skipped);
    ("digest", 0), ("other", 0) for one valid JSON document that is not CloudTrail; None when not countable (not
    valid JSON as a whole: the loader may recover part of it, and must then say why the rest is lost). ``errors``:
    how bytes that are not UTF-8 are decoded ("strict": not countable)."""
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except Exception:  # noqa: BLE001 - a broken gzip is not countable
            return None
    try:
        text = data.decode("utf-8", errors).lstrip("\ufeff \t\r\n")
    except ValueError:
        return None
    docs, pos, decoder = [], 0, json.JSONDecoder(strict=False)
    while pos < len(text):  # a whole document, or several one after the other
        try:
            obj, pos = decoder.raw_decode(text, pos)
        except (ValueError, RecursionError):
            return None
        docs.append(obj)
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
    kinds = [_kind(obj) for obj in docs]
    if len(kinds) == 1:
        return kinds[0]
    if any(kind == "records" for kind, _ in kinds):  # a document that is not events is one position, skipped
        return "records", sum(n if kind == "records" else 1 for kind, n in kinds)
    return None


def _is_record(x) -> bool:
    return isinstance(x, dict) and ("eventTime" in x or ("eventName" in x and "eventSource" in x))


def _kind(obj) -> tuple[str, int]:
    if isinstance(obj, list):
        return ("records", len(obj)) if not obj or any(map(_is_record, obj)) else ("other", 0)
    if isinstance(obj, dict):
        for key in ("Records", "Events"):
            if isinstance(obj.get(key), list):
                return "records", len(obj[key])
        if _is_record(obj):
            return "records", 1
        if "digestStartTime" in obj and "logFiles" in obj:
            return "digest", 0
    return "other", 0
