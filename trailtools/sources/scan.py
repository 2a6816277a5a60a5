"""A streaming scan of a file source: the chunk tables of a query one at a time, never concatenated into a frame.

For work that aggregates more events than fit in memory (the login investigation's baseline, issue 21): the plan is
the loader's own (:func:`trailtools.sources.local.plan_local`: the same files, the same chunks), the chunks are
served from the columnar cache where it holds them and parsed by the workers otherwise, a group of chunks at a
time (:data:`GROUP_BYTES`), so that memory holds one group; a cold scan writes the cache as a load does, so a later
load is warm. Each table comes with ``_ord``, its rows' place in file order over the whole scan (what breaks ties
between events of the same time, as in the frame).

The counts are the loader's: :meth:`Scan.finish` folds the chunks' counts, skips and notes into the same
:class:`~trailtools.events.stats.LoadStats` a load of the same query gives (files, records, rows outside the query,
identical copies dropped, differing copies listed), given what the consumer counted. Copies of one event are found
as the loader finds them, among all the rows read: each eventID's 64-bit hash is kept (8 bytes an event), and only
when two hashes meet are the rows read again (:meth:`Scan.copies`) and compared by content
(:func:`trailtools.events.duplicates.identical_copies`).

Sources without files (``lookup://``, ``athena://``, ``cwlogs://``, ``lake://``, ``s3://`` before it fetched) have
no scan: :func:`scannable` says so, and callers load them in memory.
"""
from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from trailtools import sources
from trailtools.events import parallel
from trailtools.events import table as tbl
from trailtools.events.chunk import Chunk, ChunkResult, all_cached, from_cache
from trailtools.events.derive import string_offsets
from trailtools.events.duplicates import DuplicateReport, identical_copies
from trailtools.events.limits import from_env
from trailtools.events.query import Query
from trailtools.events.result import LoadOptions, collect
from trailtools.events.stats import LoadStats
from trailtools.sources.files import chunks_size
from trailtools.sources.local import check_path, no_cloudtrail_error, plan_local

#: About this many bytes of files are read at a time (parsed by the workers on a cold scan, mapped from the cache on a
#: warm one): enough for the parse to use every core (:data:`trailtools.events.parallel.IN_PROCESS_BYTES` and up),
#: little enough that one group's events stay a small part of memory (measured on a 10M-event trail: groups of
#: 12,000 files, 200 MB, peaked 260 MB higher than groups of 2,000, and were no faster).
GROUP_BYTES = 32 * 1024 * 1024
#: The files of a group, whatever their size.
GROUP_FILES_MIN, GROUP_FILES_MAX = 500, 20000
#: How many files' sizes estimate the files of a group.
SIZE_SAMPLE = 64
#: The column every table of a scan gets: the row's place in file order over the whole scan.
ORD = "_ord"


def scannable(uri: str) -> bool:
    """True when ``uri`` names files on this machine (``demo``, a folder, a file): a scan can stream it."""
    return sources.local_folder(str(uri)) is not None


def id_hashes(ids: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A 64-bit hash of each eventID (its length, first and last 8 bytes mixed): equal IDs hash alike, so distinct
    hashes prove distinct IDs; nulls hash to 0 (rows without an eventID are never copies)."""
    arrays = ids.chunks if isinstance(ids, pa.ChunkedArray) else [ids]
    out = []
    mix = np.uint64(0x9E3779B97F4A7C15)
    for arr in arrays:
        if pa.types.is_dictionary(arr.type):
            arr = arr.dictionary_decode()
        if arr.type != pa.large_string():
            arr = arr.cast(pa.large_string())
        n = len(arr)
        if not n:
            continue
        offsets = string_offsets(arr).astype(np.int64)
        buf = arr.buffers()[2]
        data = np.frombuffer(buf, dtype=np.uint8) if buf is not None else np.zeros(1, np.uint8)
        starts, lengths = offsets[:-1], np.diff(offsets)
        width = int(lengths[0])
        if width >= 8 and int(offsets[-1] - offsets[0]) == width * n and bool((lengths == width).all()):
            # every ID as long as the others (CloudTrail's are UUIDs): the bytes as rows of a matrix, no index arrays
            rows = data[int(offsets[0]):int(offsets[-1])].reshape(n, width)
            head = np.ascontiguousarray(rows[:, :8]).view(np.uint64).ravel()
            tail = np.ascontiguousarray(rows[:, width - 8:]).view(np.uint64).ravel()
        else:
            last = np.maximum(starts + lengths - 1, starts)
            k = np.arange(8)
            head_idx = np.minimum(starts[:, None] + k, last[:, None])
            tail_idx = np.maximum(last[:, None] - 7 + k, starts[:, None])
            safe = max(len(data) - 1, 0)
            head = data[np.minimum(head_idx, safe)].copy().view(np.uint64).ravel()
            tail = data[np.minimum(tail_idx, safe)].copy().view(np.uint64).ravel()
        h = (tail * mix) ^ head ^ (lengths.astype(np.uint64) * np.uint64(0xBF58476D1CE4E5B9))
        h[lengths == 0] = 0
        if arr.null_count:
            h[~np.asarray(arr.is_valid())] = 0
        out.append(h)
    return np.concatenate(out) if out else np.zeros(0, np.uint64)


class Scan:
    """The chunks of ``query`` under a local source, a group at a time (see the module's docstring)."""

    def __init__(self, uri: str, query: Query, options: LoadOptions | None = None):
        self.uri, self.query = str(uri), query
        options = options or LoadOptions()
        folder = sources.local_folder(self.uri)
        if folder is None:
            raise ValueError(f"{uri} has no files to scan")
        self.started = time.perf_counter()
        path = check_path(str(folder))
        self.plan = plan_local(path, query, use_cache=options.cache)
        root = os.path.realpath(path) if path.is_dir() else None
        limits = dataclasses.replace(options.limits or from_env(), root=root)
        self.options = dataclasses.replace(options, limits=limits)
        for c in self.plan.chunks:
            c.limits = c.limits or limits
        if not self.plan.chunks and not self.plan.pruned:
            raise no_cloudtrail_error(self.uri, self.plan)
        self.counts = ChunkResult(table=tbl.empty())
        self.hashes: list[np.ndarray] = []
        self.shared: np.ndarray | None = None   # the hashes held twice, once the first pass is over
        self.rows = 0
        self.passes = 0
        self.forks = True   # whether parsing may start worker processes (see :meth:`warm`)
        self.light = True   # whether parsed chunks are read back from the cache (see :meth:`_parse`)

    def warm(self) -> bool:
        """Whether the cache holds every chunk of the plan. If so the scan will start no worker process (a chunk
        whose entry turns out unreadable is parsed in this process), so that the consumer may run threads of its
        own meanwhile (a fork must not find other threads running)."""
        self.forks = not all_cached(self.plan.chunks)
        return not self.forks

    def group_files(self) -> int:
        """How many files make a group (:data:`GROUP_BYTES` of them, by the sizes of a sample of the files)."""
        chunks = [c for c in self.plan.chunks if c.paths]
        step = max(1, len(chunks) // SIZE_SAMPLE)
        sample = [c.paths[len(c.paths) // 2] for c in chunks[::step]][:SIZE_SAMPLE]     # across the plan
        size = chunks_size([Chunk(paths=sample)]) if sample else 0
        each = size / len(sample) if size else 1
        return int(min(GROUP_FILES_MAX, max(GROUP_FILES_MIN, GROUP_BYTES / each)))

    def groups(self) -> list[list[Chunk]]:
        """The plan's chunks in groups of about :data:`GROUP_BYTES` of files; where the scan may parse, at least as
        many chunks a group as there are workers: a chunk (the cache's unit) is parsed whole by one process, and a
        day of a large trail is more than a group's bytes (10M-event trail: one core busy, not two)."""
        out: list[list[Chunk]] = [[]]
        files = 0
        per_group = self.group_files()
        at_least = (self.options.workers or parallel.default_workers()) if self.forks else 1
        for c in self.plan.chunks:
            if files >= per_group and len(out[-1]) >= at_least:
                out.append([])
                files = 0
            out[-1].append(c)
            files += len(c.paths)
        return [g for g in out if g]

    def results(self) -> Iterator[ChunkResult]:
        """Every chunk's result in the chunks' order, each table with ``_ord``; the first pass also keeps the
        counts and the eventIDs' hashes (a later pass, :meth:`copies`, only reads)."""
        first = self.passes == 0
        self.passes += 1
        offset = 0
        for group in self.groups():
            cached = from_cache(group, sliced=True)
            todo = [c for c, hit in zip(group, cached) if hit is None]
            parsed = self._parse(todo) if todo else []
            done = sorted([hit for hit in cached if hit is not None] + parsed, key=lambda r: r.position)
            del cached, parsed
            for r in done:
                if first:
                    self.counts.add_counts(r)
                if r.slices is not None:    # from the cache: a slice of the chunk at a time, its pages let go after
                    for entry in r.slices.parts if isinstance(r.slices, _Entries) else [r.slices]:
                        for part in entry:
                            if first:
                                self.hashes.append(id_hashes(part.column("eventID")))
                            yield _with_ord(part, offset)
                            del part
                        offset += entry.num_rows    # (``_row`` counts from 0 in each entry)
                    continue
                if first:
                    self.hashes.append(id_hashes(r.table.column("eventID")))
                rows = r.table.num_rows
                # (no name here holds the table while it is yielded: once the consumer lets it go, the chunk, a
                # mapped cache file whose pages were read, is freed before the next one is read)
                yield _ordered(r, offset)
                offset += rows
            del done
        if first:
            self.rows = offset

    def _parse(self, todo: list[Chunk]) -> list[ChunkResult]:
        """The results of parsing ``todo``. Where every chunk may be cached, the workers hand back only ``_row`` of
        the rows (and every count), writing each chunk's whole table to the cache as they always do, and the rows are
        then read from those entries a slice at a time, as a warm scan reads them, and this process parses none
        itself: it never holds a chunk's whole table (a day of the 10M-event trail is 225 MB). Where an entry cannot
        be read back (a cache that cannot be written), the group is parsed again whole, and so are the next ones."""
        workers = self.options.workers if self.forks else 1
        if not self.light or not all(c.cacheable for c in todo):
            return parallel.run(todo, total_bytes=chunks_size(todo), workers=workers)
        parsed = parallel.run([dataclasses.replace(c, columns=()) for c in todo], total_bytes=chunks_size(todo),
                              workers=workers, share=False)
        entries = from_cache(todo, sliced=True)
        if any(e is None for e in entries) or sum(e.slices.num_rows for e in entries) != sum(
                r.table.num_rows for r in parsed):
            self.light = False
            return parallel.run(todo, total_bytes=chunks_size(todo), workers=workers)
        # each result of the parse (a batch of consecutive chunks, merged) gets its chunks' entries, by their rows
        entries.sort(key=lambda e: e.position)
        parsed.sort(key=lambda r: r.position)
        for i, r in enumerate(parsed):
            rows, mine = r.table.num_rows, []
            while entries and (rows > 0 or not entries[0].slices.num_rows or i == len(parsed) - 1):
                mine.append(entries.pop(0).slices)
                rows -= mine[-1].num_rows
            r.table, r.slices = None, _Entries(mine)
        return parsed

    def shared_hashes(self) -> np.ndarray:
        """The hashes held by more than one row (empty: every eventID is distinct, the usual case). The first pass's
        hashes are let go once asked for (8 bytes an event: 80 MB on a 10M-event trail, which the frame's making and
        the analysis after it need no more); sorted in place, without a copy."""
        if self.shared is None:
            h = np.concatenate(self.hashes) if self.hashes else np.zeros(0, np.uint64)
            self.hashes = []
            h.sort()
            h = h[np.searchsorted(h, np.uint64(1)):]     # (0: no eventID)
            self.shared = np.unique(h[1:][h[1:] == h[:-1]])
        return self.shared

    def copies(self, report: DuplicateReport) -> set[int]:
        """The identical copies to drop (their ``_ord``), found as the loader finds them (differing copies go in
        ``report``); a second pass over the chunks (from the cache the first one wrote), needed only when
        :meth:`shared_hashes` found two rows that may share an eventID."""
        shared = self.shared_hashes()
        if not len(shared):
            return set()
        parts = []
        for t in self.results():
            keep = np.isin(id_hashes(t.column("eventID")), shared)
            if keep.any():
                parts.append(t.filter(pa.array(keep)))
        rows = pa.concat_tables(parts).combine_chunks() if parts else None
        if rows is None or not rows.num_rows:
            return set()
        ids = rows.column("eventID").to_pylist()
        order = rows.column(ORD).to_numpy()
        groups: dict[str, list[int]] = {}
        for i in np.argsort(order, kind="stable").tolist():
            if ids[i] is not None:
                groups.setdefault(ids[i], []).append(i)
        groups = {k: v for k, v in groups.items() if len(v) > 1}
        if not groups:
            return set()
        firsts = sorted(groups.values(), key=lambda v: order[v[0]])
        positions = [i for g in firsts for i in g]
        starts = np.cumsum([0] + [len(g) for g in firsts])[:-1].tolist()
        picked = rows.take(pa.array(positions)).drop_columns([tbl.ROW])
        gone = identical_copies(picked, starts, report)
        return set(picked.column(ORD).take(pa.array(gone, pa.int64())).to_pylist()) if gone else set()

    def finish(self, *, filtered_out: int, duplicates: int, events: int, report: DuplicateReport) -> LoadStats:
        """The load statistics of the scan, as a load of the same query gives them, with what the consumer counted:
        rows outside the query, identical copies dropped among the rows in it, rows kept."""
        stats = LoadStats(source=self.uri, query=self.query.describe())
        for folder, reason in self.plan.unlistable:
            stats.add_skip(folder, reason)
        collect([self.counts], self.query, stats)
        self.counts = ChunkResult(table=tbl.empty())
        stats.filtered_out = filtered_out
        report.fold_into(stats, duplicates)
        stats.events = events
        plan = self.plan
        stats.files_seen, stats.files_pruned, stats.insight_files = plan.files_seen, plan.pruned, plan.insights
        stats.digest_files += plan.digests
        stats.other_files += plan.others
        stats.elapsed_s = time.perf_counter() - self.started
        return stats


class _Entries:
    """Several cache entries read one after the other (:class:`~trailtools.events.cache.Slices` each, whose ``_row``
    counts from 0)."""

    def __init__(self, parts: list):
        self.parts = parts
        self.num_rows = sum(p.num_rows for p in parts)


def time_mask(table: pa.Table, start, end) -> np.ndarray:
    """Rows with ``start <= eventTime < end`` (either may be None)."""
    t = table.column("eventTime")
    m = None
    if start is not None:
        m = pc.greater_equal(t, pa.scalar(start, tbl.TIME_TYPE))
    if end is not None:
        e = pc.less(t, pa.scalar(end, tbl.TIME_TYPE))
        m = e if m is None else pc.and_(m, e)
    if m is None:
        return np.ones(table.num_rows, dtype=bool)
    return np.asarray(pc.fill_null(m, False).to_numpy(zero_copy_only=False), dtype=bool)


def _ordered(result: ChunkResult, offset: int) -> pa.Table:
    """A chunk's table, taken from its result, with ``_ord``: its rows' positions in the scan (from ``offset``)."""
    t, result.table = result.table, None
    return _with_ord(t, offset)


def _with_ord(t: pa.Table, offset: int) -> pa.Table:
    """``t`` (a chunk's rows, or a slice of them) with ``_ord``: the rows' positions in the scan (``_row`` from the
    chunk's ``offset``)."""
    rows = t.column(tbl.ROW).to_numpy().astype(np.int64) + offset
    return t.append_column(ORD, pa.array(rows, pa.int64()))
