"""Copies of one event: identical ones are dropped, differing ones are kept and reported (possible tampering).

CloudTrail gives every event its own eventID and may deliver an event twice, as the same record. So records that
share an eventID are compared by content: the record as its file holds it, re-read and written back as canonical
JSON (sorted keys, no spaces), so that neither the reader path (native or Python), the cache, key order nor
whitespace changes the answer. Copies with the same content are one event (the first in file order is kept, the
others dropped and counted); copies that differ are all kept, and the eventID is listed with every copy's file.

Only the rows whose eventID is shared are looked at (rare in a real trail: the rest of the load pays one hash
pass, in :mod:`trailtools.events.frame`). Re-reading is bounded (:data:`REREAD_BYTES` in all): past it, or when a file
cannot be read again as it was (removed, changed, no longer a regular file), a group of copies is compared by the
frame's columns instead (the JSON columns canonicalised), which is said in the load's notes.
"""
from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import dataclass, field

import pyarrow as pa

from trailtools.events import archives, reader
from trailtools.events.stats import MAX_LISTED_CONFLICTS
from trailtools.events.table import COLUMNS

#: Each conflicting eventID listed (at most MAX_LISTED_CONFLICTS) names at most this many copies; counts stay exact.
MAX_LISTED_COPIES = 10
#: At most this many bytes of files are read again to compare copies by their raw records.
REREAD_BYTES = 256 * 1024 * 1024

_JSON_COLUMNS = frozenset(name for name, kind in COLUMNS if kind == "json")
_NOT_CONTENT = frozenset(("_file", "_index", "_row"))


@dataclass
class DuplicateReport:
    """What the comparison of copies found: filled by :func:`identical_copies`, folded into the load stats."""

    conflicting: int = 0                              # eventIDs held by copies that differ
    conflicts: list[dict] = field(default_factory=list)   # {"eventID", "copies": [{"path", "record", ...}]}
    conflicts_not_listed: int = 0
    compared_by_columns: int = 0                      # eventIDs whose copies could not all be re-read

    def fold_into(self, stats, dropped: int) -> None:
        """Add what this comparison found, and the ``dropped`` identical copies, to a load's statistics
        (:class:`trailtools.events.stats.LoadStats`)."""
        stats.duplicates_dropped += dropped
        stats.conflicting_duplicates += self.conflicting
        room = max(0, MAX_LISTED_CONFLICTS - len(stats.conflicts))
        stats.conflicts += self.conflicts[:room]
        stats.conflicts_not_listed += self.conflicts_not_listed + len(self.conflicts[room:])
        if self.compared_by_columns:
            stats.notes.append(f"{self.compared_by_columns:,} eventIDs held by several records were compared by the "
                               "frame's columns only (their files could not be read again as loaded, or the re-read "
                               "budget was spent): copies differing only in fields outside the frame count as "
                               "identical there.")

    def add(self, event_id: str, copies: list[dict], total: int) -> None:
        """An eventID with ``total`` differing copies, the first of them (in file order) in ``copies``."""
        self.conflicting += 1
        if len(self.conflicts) >= MAX_LISTED_CONFLICTS:
            self.conflicts_not_listed += 1
            return
        listed = [{"path": str(c.get("_file")), "record": c.get("_index"),
                   "eventTime": _iso(c.get("eventTime")), "eventName": c.get("eventName")}
                  for c in copies[:MAX_LISTED_COPIES]]
        self.conflicts.append({"eventID": event_id, "copies": listed, "copies_total": total})


def _iso(t) -> str | None:
    return None if t is None else t.strftime("%Y-%m-%dT%H:%M:%SZ")


def canonical(record) -> str:
    """A record as canonical JSON: equal for records with the same content, whatever their key order and spacing."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=True)


def _read_regular(path: str, budget: list[int]) -> bytes | None:
    """The bytes of a regular file within the re-read budget (a one-item list, decreased), else None."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except (OSError, ValueError):
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > budget[0]:
            return None
        budget[0] -= st.st_size
        with os.fdopen(fd, "rb", closefd=False) as fh:
            return fh.read(st.st_size + 1)[:st.st_size]
    except OSError:
        return None
    finally:
        os.close(fd)


def _raw_keys(rows: list[dict], budget: list[int]) -> list[str | None]:
    """Each row's record as canonical JSON, read again from its file; None where that cannot be done exactly."""
    by_file: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        by_file.setdefault(str(r.get("_file")), []).append(i)
    keys: list[str | None] = [None] * len(rows)
    for path, members in by_file.items():
        outer = archives.archive_of(path) if archives.SEP in path else None  # a member of an archive
        data = _read_regular(outer or path, budget)
        if data is not None and outer:
            try:
                data = archives.read_member(path, data)
            except Exception:  # noqa: BLE001 - whatever the archive holds now, compare these copies by columns
                data = None
        if data is None:
            continue
        try:
            raws = reader.raw_records(data)
        except Exception:  # noqa: BLE001, S112 - whatever the file holds now, compare these copies by columns
            continue
        del data
        for i in members:
            pos = rows[i].get("_index")
            raw = raws[pos] if isinstance(pos, int) and 0 <= pos < len(raws) else None
            # the record found must be the one loaded (the file may have changed since)
            if not isinstance(raw, dict) or raw.get("eventID") != rows[i].get("eventID"):
                continue
            try:
                keys[i] = canonical(raw)
            except (ValueError, TypeError, RecursionError):
                pass
    return keys


def _json_text(value):
    if not isinstance(value, str):
        return value
    try:
        return canonical(json.loads(value))
    except (ValueError, RecursionError):
        return value


def _column_key(row: dict) -> str:
    """A row's content as the frame holds it (the JSON columns canonicalised; where it came from left out)."""
    content = {k: _json_text(v) if k in _JSON_COLUMNS else v for k, v in row.items() if k not in _NOT_CONTENT}
    return json.dumps(content, sort_keys=True, default=str, ensure_ascii=True)


#: Rows turned into Python objects at a time: bounds the memory however many copies a trail holds. A group of
#: copies larger than this is compared by the frame's columns, a slice at a time.
BATCH_ROWS = 20_000


def _digest(key: str) -> bytes:
    return hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=32).digest()


class _Group:
    """The copies of one eventID seen so far: their contents (as digests) and the first copy of each."""

    def __init__(self):
        self.seen: set[bytes] = set()
        self.kept: list[dict] = []
        self.distinct = 0

    def offer(self, key: str, record: dict) -> bool:
        """True when the record is a copy of one seen before (to drop)."""
        d = _digest(key)
        if d in self.seen:
            return True
        self.seen.add(d)
        self.distinct += 1
        if len(self.kept) < MAX_LISTED_COPIES:
            self.kept.append(record)
        return False

    def close(self, report: DuplicateReport) -> None:
        if self.distinct > 1:
            report.add(str(self.kept[0].get("eventID")), self.kept, self.distinct)


def identical_copies(rows: pa.Table, starts: list[int], report: DuplicateReport | None = None) -> list[int]:
    """Which of ``rows`` to drop: the copies identical to an earlier row of their group.

    ``rows`` are the rows whose eventID is shared, grouped by eventID and in file order within a group; ``starts``
    the position where each group begins. Returns positions in ``rows``; conflicts go to ``report``.
    """
    report = report if report is not None else DuplicateReport()
    bounds = list(starts) + [rows.num_rows]
    budget = [REREAD_BYTES]
    drop: list[int] = []
    g = 0
    while g < len(bounds) - 1:
        first = bounds[g]
        if bounds[g + 1] - first > BATCH_ROWS:  # one huge group: by columns, a slice at a time
            group = _Group()
            report.compared_by_columns += 1
            for a in range(first, bounds[g + 1], BATCH_ROWS):
                for i, r in enumerate(rows.slice(a, min(BATCH_ROWS, bounds[g + 1] - a)).to_pylist()):
                    if group.offer(_column_key(r), r):
                        drop.append(a + i)
            group.close(report)
            g += 1
            continue
        h = g + 1
        while h < len(bounds) - 1 and bounds[h + 1] - first <= BATCH_ROWS:
            h += 1
        batch = rows.slice(first, bounds[h] - first).to_pylist()
        raw = _raw_keys(batch, budget)
        for a, b in zip(bounds[g:h], bounds[g + 1:h + 1]):
            a, b = a - first, b - first
            keys = raw[a:b]
            if any(k is None for k in keys):  # one way of comparing for the whole group
                keys = [_column_key(r) for r in batch[a:b]]
                report.compared_by_columns += 1
            group = _Group()
            for i, key in enumerate(keys):
                if group.offer(key, batch[a + i]):
                    drop.append(first + a + i)
            group.close(report)
        g = h
    return drop
