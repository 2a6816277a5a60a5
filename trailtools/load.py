"""``load_events``: any source URI + a query -> the events frame and its load stats."""
from __future__ import annotations

import time
from dataclasses import dataclass

import pandas as pd

from . import frame as frame_mod
from . import parallel, reader, sources
from .chunk import ChunkResult
from .progress import Progress
from .query import Query
from .sources import local
from .stats import LoadStats


@dataclass
class LoadResult:
    """The events frame (one row per event, see docs/events-frame.md) and how it was loaded."""

    frame: pd.DataFrame
    stats: LoadStats

    def raw(self, row: int | str) -> dict:
        """The full original record of a row: by position in the frame, or by eventID."""
        return raw_record(self.frame, row)


@dataclass(frozen=True)
class LoadOptions:
    cache: bool = True
    workers: int | None = None
    progress: bool | None = None  # None: when stderr is a terminal


def load_events(source: str = "demo", query: Query | None = None, *, cache: bool = True,
                workers: int | None = None, progress: bool | None = None) -> LoadResult:
    """Load CloudTrail events from a source URI (``demo``, a local path, ...) that match ``query``."""
    query = query or Query()
    loader = sources.get_loader(str(source))
    return loader(str(source), query, LoadOptions(cache=cache, workers=workers, progress=progress))


def collect(results: list[ChunkResult], query: Query, stats: LoadStats) -> LoadResult:
    """Fold chunk results into stats and build the frame (shared by every file-based source)."""
    for r in results:
        stats.files_read += r.files_read
        stats.files_cached += r.files_read if r.cached else 0
        stats.bytes_read += r.bytes_read
        stats.records_seen += r.records_seen
        stats.digest_files += r.digest_files
        stats.other_files += r.other_files
        for path, reason in r.file_skips:
            stats.add_skip(path, reason, counted=not reason.startswith("not CloudTrail"))
        for path, pos, reason in r.record_skips:
            stats.add_skip(path, reason, pos)
    frame, stats.filtered_out, stats.duplicates_dropped = frame_mod.finish([r.table for r in results], query)
    stats.events = len(frame)
    return LoadResult(frame, stats)


def load_local(uri: str, query: Query, options: LoadOptions) -> LoadResult:
    started = time.perf_counter()
    path = local.check_path(uri)
    plan = local.plan_local(path, query, use_cache=options.cache)
    stats = LoadStats(source=uri, query=query.describe(), files_seen=plan.files_seen, files_pruned=plan.pruned,
                      digest_files=plan.digests, insight_files=plan.insights, other_files=plan.others)
    for folder, reason in plan.unlistable:
        stats.add_skip(folder, reason)
    if not plan.chunks and not plan.pruned:
        raise local.no_cloudtrail_error(uri, plan)
    total = sum(len(c.paths) for c in plan.chunks)
    bar = Progress(total, enabled=options.progress if options.progress is not None and total > 200 else
                   (None if total > 200 else False))
    try:
        results = parallel.run(plan.chunks, total_bytes=plan.bytes, workers=options.workers, progress=bar)
    finally:
        bar.close()
    result = collect(results, query, stats)
    if stats.records_seen == 0 and stats.skipped and not plan.pruned:
        reasons = "; ".join(f"{s.path}: {s.reason}" for s in stats.skipped[:3])
        raise local.SourceError(f"No CloudTrail could be read from {uri}: {reasons}.")
    stats.elapsed_s = time.perf_counter() - started
    return result


def raw_record(frame: pd.DataFrame, row: int | str) -> dict:
    """The original record behind a row of an events frame (by position, or by eventID), read from its file."""
    if isinstance(row, str):
        matches = frame.index[frame["eventID"] == row]
        if len(matches) == 0:
            raise KeyError(f"no event with eventID {row!r} in this frame")
        record = frame.loc[matches[0]]
    else:
        record = frame.iloc[row]
    with open(record["_file"], "rb") as fh:
        raws = reader.raw_records(fh.read())
    return raws[int(record["_index"])]


sources.register_local(load_local)
