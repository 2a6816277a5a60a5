"""What every source returns: the events frame and its load statistics; and how chunk results become them."""
from __future__ import annotations

import os
from dataclasses import dataclass

import pandas as pd

from trailtools.events import archives, reader
from trailtools.events import frame as frame_mod
from trailtools.events.chunk import ChunkResult
from trailtools.events.duplicates import DuplicateReport
from trailtools.events.limits import Limits
from trailtools.events.query import Query
from trailtools.events.safe_open import read_regular
from trailtools.events.stats import LoadStats

#: Threads that build the frame once the files are parsed (the parsing processes are done by then, their cores
#: free): on the 1M-event load with 2 cores, the frame's 1.3 s became 0.8 s. Each holds one column's copy at a time.
FINISH_THREADS = min(4, os.cpu_count() or 1)


@dataclass(frozen=True)
class LoadOptions:
    """How to load (not what): the cache, worker processes, the progress bar (None: when stderr is a tty), and
    what one file or record may cost (None: :func:`trailtools.events.limits.from_env`)."""

    cache: bool = True
    workers: int | None = None
    progress: bool | None = None
    limits: Limits | None = None


@dataclass
class LoadResult:
    """The events frame (one row per event, see docs/events-frame.md) and how it was loaded."""

    frame: pd.DataFrame
    stats: LoadStats

    def raw(self, row: int | str) -> dict:
        """The full original record of a row: by position in the frame, or by eventID."""
        return raw_record(self.frame, row)


def collect(results: list[ChunkResult], query: Query, stats: LoadStats) -> LoadResult:
    """Fold chunk results into the stats and build the frame (shared by every file-based source)."""
    total = ChunkResult(table=None)
    for r in results:
        total.add_counts(r)
    stats.files_read += total.files_read
    stats.files_cached += total.files_cached
    stats.bytes_read += total.bytes_read
    stats.records_seen += total.records_seen
    stats.digest_files += total.digest_files
    stats.other_files += total.other_files
    stats.text_escaped += total.text_escaped
    stats.links_outside_root += total.links_outside
    for path, note in total.file_notes:
        stats.notes.append(f"{path}: {note}")
    for path, reason in total.file_skips:
        stats.add_skip(path, reason, counted=not reason.startswith("not CloudTrail"))
    for path, pos, reason in total.record_skips:
        stats.add_skip(path, reason, pos)
    stats.add_suspicious_times(total.suspicious_times, total.suspicious_time_kinds, total.suspicious_time_sample)
    tables = [r.table for r in results]
    for r in results:
        r.table = None  # finish() owns the tables now, so that memory is freed as it goes
    copies = DuplicateReport()
    frame, stats.filtered_out, dropped = frame_mod.finish(tables, query, copies, threads=FINISH_THREADS)
    copies.fold_into(stats, dropped)
    stats.events = len(frame)
    return LoadResult(frame, stats)


def raw_record(frame: pd.DataFrame, row: int | str) -> dict:
    """The original record behind a row of an events frame (by position, or by eventID), read from its file."""
    if isinstance(row, str):
        matches = frame.index[frame["eventID"] == row]
        if len(matches) == 0:
            raise KeyError(f"no event with eventID {row!r} in this frame")
        record = frame.loc[matches[0]]
    else:
        record = frame.iloc[row]
    return _file_records(record["_file"])[int(record["_index"])]


def _file_records(path: str) -> list:
    """Every record position of the file (or archive member) ``path`` as decoded JSON; OSError when it cannot be
    read again."""
    member = archives.archive_of(path) if archives.SEP in path else None
    opened = read_regular(member or path, Limits().max_file_bytes, follow_outside=True)
    if opened.data is None:
        raise OSError(f"the file of this row cannot be read again: {opened.problem}")
    data = archives.read_member(path, opened.data) if member else opened.data
    if data is None:
        raise OSError(f"the archive member of this row cannot be read again: {path}")
    return reader.raw_records(data)


def raw_records(frame: pd.DataFrame, *, keep_files: int = 64):
    """Yield (row position, the original record or None) for every row of ``frame``, in order: each file is read
    again once while its rows come (the last ``keep_files`` files are kept decoded). None where the file cannot be
    read again or no longer holds the record."""
    kept: dict[str, list | None] = {}
    for pos, (path, index) in enumerate(zip(frame["_file"], frame["_index"])):
        path = str(path)
        if path not in kept:
            if len(kept) >= keep_files:
                kept.pop(next(iter(kept)))
            try:
                kept[path] = _file_records(path)
            except OSError:
                kept[path] = None
        raws = kept[path]
        i = int(index)
        yield pos, raws[i] if raws is not None and 0 <= i < len(raws) else None
