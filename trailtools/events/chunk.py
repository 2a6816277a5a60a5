"""A chunk of files -> one Arrow table and what happened to each file; the unit of parallel work and of caching."""
from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from trailtools.events import archives, cache, layout, ocsf_api, reader, table
from trailtools.events.limits import Limits, from_env
from trailtools.events.safe_open import read_regular
from trailtools.events.sniff import SNIFF_BYTES, is_archive, looks_like_events
from trailtools.events.stats import MAX_SUSPICIOUS_LISTED

try:
    from trailtools.events import _listing
except ImportError:  # not built: the files are stat()ed from Python (the same key)
    _listing = None
if not table.NATIVE_WANTED:
    _listing = None


@dataclass
class Chunk:
    """Files to read together; ``cacheable`` when the chunk may be served from and stored in the cache.

    ``key`` is the chunk's cache key once :func:`from_cache` has computed it.
    """

    paths: list[str]
    cacheable: bool = False
    key: str | None = None
    position: int = 0       # the chunk's place in the plan: results are put back in this order
    limits: Limits | None = None  # what a file may cost, and the evidence folder (None: from the environment)
    columns: tuple[str, ...] | None = None  # the columns to keep (None: all); the cache still stores every column


def project(tbl: pa.Table, columns: tuple[str, ...] | None) -> pa.Table:
    """A chunk's table with only ``columns`` (and ``_row``); as it is for None."""
    return tbl if columns is None else tbl.select([*columns, table.ROW])


def _cached(key: str, columns: tuple[str, ...] | None = None, sliced: bool = False) -> ChunkResult | None:
    hit = cache.read_slices(key, columns) if sliced else cache.read(key, columns)
    if hit is None:
        return None
    tbl, meta = hit
    result = ChunkResult(table=None if sliced else tbl, slices=tbl if sliced else None,
                         files_cached=meta["files_read"], **{k: meta[k] for k in (
                             "files_read", "bytes_read", "records_seen", "digest_files", "other_files")})
    result.file_skips = [tuple(x) for x in meta["file_skips"]]
    result.record_skips = [tuple(x) for x in meta["record_skips"]]
    result.text_escaped = meta.get("text_escaped", 0)
    result.links_outside = meta.get("links_outside", 0)
    result.file_notes = [tuple(x) for x in meta.get("file_notes", ())]
    result.suspicious_times = meta.get("suspicious_times", 0)
    result.suspicious_time_kinds = meta.get("suspicious_time_kinds", {})
    result.suspicious_time_sample = [tuple(x) for x in meta.get("suspicious_time_sample", [])]
    return result


def from_cache(chunks: list[Chunk], sliced: bool = False) -> list[ChunkResult | None]:
    """Set each cacheable chunk's key (from its files' size and mtime; a chunk keyed already keeps its key) and
    read the chunks already cached (``sliced``: as :class:`~trailtools.events.cache.Slices` in ``slices``, the
    ``table`` None).

    Runs in the calling process; None where a chunk must be parsed. With the C ``stat_files`` (it stats a chunk's
    files without the GIL), two threads each key a chunk and then open and check its entry (in Arrow, without the
    GIL): a warm 1M-event load's 120,000 stats 0.39 -> 0.14 s. Without it the keys are computed in this thread
    while a second one checks the entries already keyed: a ``stat`` from Python is too short to hand the GIL around
    for (several threads measured slower, with futex calls in the profile).
    """
    def lookup(chunk: Chunk) -> ChunkResult | None:
        hit = _cached(chunk.key, chunk.columns, sliced)
        if hit is not None:
            hit.position = chunk.position
        return hit

    results: list = [None] * len(chunks)
    if not any(chunk.cacheable for chunk in chunks):  # nothing to look up: no thread either
        return results
    def key_and_lookup(chunk: Chunk) -> ChunkResult | None:
        _key(chunk)
        return lookup(chunk)

    with ThreadPoolExecutor(max_workers=2 if _listing is not None else 1) as pool:
        for i, chunk in enumerate(chunks):
            if chunk.cacheable:
                if _listing is not None:
                    results[i] = pool.submit(key_and_lookup, chunk)
                else:
                    _key(chunk)
                    results[i] = pool.submit(lookup, chunk)
        return [r.result() if r is not None else None for r in results]


def all_cached(chunks: list[Chunk]) -> bool:
    """Whether every chunk is cacheable and has an entry in the cache (keyed now; the keys are kept for
    :func:`from_cache`, which reads the entries later)."""
    if not all(chunk.cacheable for chunk in chunks):
        return False

    def keyed(chunk: Chunk) -> bool:
        _key(chunk)
        return cache.entry_path(chunk.key).is_file()

    with ThreadPoolExecutor(max_workers=2 if _listing is not None else 1) as pool:
        return all(pool.map(keyed, chunks))


def _key(chunk: Chunk) -> None:
    """Set the chunk's cache key from its files' size and mtime, unless it has one."""
    if chunk.key is None:
        chunk.key = cache.chunk_key(_identity(chunk.paths) + (chunk.limits or from_env()).cache_text())


def _identity(paths: list[str]) -> str:
    """What the cache key says of the files: a ``path NUL size NUL mtime_ns`` line for each; a file that cannot be
    stat()ed gets -1s (and fails when read).

    Where the platform allows it, each folder is opened once and its files are stat()ed by name in it (``fstatat``):
    the kernel then looks up one name instead of every part of the path (a warm 1M-event load stats 120,000 files);
    in C where it is built (``_listing.stat_files``: 0.44 -> 0.2 s of a warm 1M-event load).
    """
    if _listing is not None:
        return "".join([f"{path}\0{size}\0{mtime}\n" for path, (size, mtime) in zip(paths, _listing.stat_files(paths))])
    lines: list[str] = []
    add, stat = lines.append, os.stat
    by_name = os.stat in os.supports_dir_fd
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_PATH", 0)
    folder, fd = None, None
    try:
        for path in paths:
            if by_name:
                head, _, name = path.rpartition(os.sep)
                if head != folder:
                    if fd is not None:
                        os.close(fd)
                        fd = None
                    folder = head
                    if head:
                        try:
                            fd = os.open(head, flags)
                        except OSError:  # then each file by its path, as below
                            pass
            try:
                st = stat(name, dir_fd=fd) if fd is not None else stat(path)
            except OSError:
                add(f"{path}\0-1\0-1\n")
                continue
            add(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\n")
    finally:
        if fd is not None:
            os.close(fd)
    return "".join(lines)


@dataclass
class ChunkResult:
    table: pa.Table | None
    files_read: int = 0
    bytes_read: int = 0
    records_seen: int = 0
    digest_files: int = 0
    other_files: int = 0                                                       # valid JSON, not CloudTrail
    file_skips: list[tuple[str, str]] = field(default_factory=list)            # (path, reason)
    record_skips: list[tuple[str, int, str]] = field(default_factory=list)     # (path, position, reason)
    files_cached: int = 0                                                      # files served from the cache
    position: int = 0                                                          # of the (first) chunk
    text_escaped: int = 0                                 # records kept with text that was not valid Unicode
    links_outside: int = 0                                # symbolic links out of the evidence folder (read or not)
    file_notes: list[tuple[str, str]] = field(default_factory=list)            # (path, note) for the stats
    # records kept with a suspicious eventTime (see trailtools.events.table.TimeNotes): how many, by kind, and the first
    # few as (path, position, eventID, eventTime, reason)
    suspicious_times: int = 0
    suspicious_time_kinds: dict[str, int] = field(default_factory=dict)
    suspicious_time_sample: list[tuple[str, int, str | None, str, str]] = field(default_factory=list)
    slices: cache.Slices | None = None    # a cached chunk read a slice at a time (:func:`from_cache`), table None

    COUNTS = ("files_read", "bytes_read", "records_seen", "digest_files", "other_files", "files_cached",
              "text_escaped", "links_outside")

    def add_counts(self, other: ChunkResult) -> None:
        """Add another result's counts and skips to this one (tables are left alone)."""
        for name in self.COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.file_skips.extend(other.file_skips)
        self.record_skips.extend(other.record_skips)
        self.file_notes.extend(other.file_notes)
        self.suspicious_times += other.suspicious_times
        for kind, n in other.suspicious_time_kinds.items():
            self.suspicious_time_kinds[kind] = self.suspicious_time_kinds.get(kind, 0) + n
        room = MAX_SUSPICIOUS_LISTED - len(self.suspicious_time_sample)
        self.suspicious_time_sample.extend(other.suspicious_time_sample[:max(room, 0)])

    def meta(self) -> dict:
        return {
            "files_read": self.files_read, "bytes_read": self.bytes_read, "records_seen": self.records_seen,
            "digest_files": self.digest_files, "other_files": self.other_files, "file_skips": self.file_skips,
            "record_skips": self.record_skips,
            "text_escaped": self.text_escaped, "links_outside": self.links_outside, "file_notes": self.file_notes,
            "suspicious_times": self.suspicious_times, "suspicious_time_kinds": self.suspicious_time_kinds,
            "suspicious_time_sample": self.suspicious_time_sample,
        }


def _read_file(path: str, limits: Limits, result: ChunkResult) -> tuple[bytes | None, str | None]:
    """The bytes of a regular file within the limits, or the reason it is not read (see
    trailtools/events/safe_open.py)."""
    opened = read_regular(path, limits.max_file_bytes, root=limits.root, follow_outside=limits.follow_outside_links)
    result.links_outside += opened.outside
    if opened.note:
        result.file_notes.append((path, opened.note))
    return opened.data, opened.problem


def _name_problem(path: str) -> str | None:
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return f"the file's name is not valid UTF-8 ({reader.escape_text(path)}): not read"
    return None


def parse_chunk(chunk: Chunk) -> ChunkResult:
    """Parse every file of a chunk; store the result in the cache when the chunk has a key. Never raises for what
    the files hold: a file that fails in a way no reason foresaw is skipped, with the error, and costs no other."""
    try:
        return _parse_chunk(chunk)
    except Exception:  # noqa: BLE001 - e.g. Arrow refusing a column: each file alone, so that only the bad one is lost
        if len(chunk.paths) == 1:
            return _unreadable(chunk)
    parts = [_parse_one(chunk, path) for path in chunk.paths]
    try:
        merged = merge(parts)
    except Exception:  # noqa: BLE001 - the files together still too large for one table: each file's own
        merged = merge(parts, combine=False)
    merged.position = chunk.position
    return merged


def _parse_one(chunk: Chunk, path: str) -> ChunkResult:
    one = Chunk([path], position=chunk.position, limits=chunk.limits, columns=chunk.columns)
    try:
        return _parse_chunk(one)
    except Exception:  # noqa: BLE001 - said in the stats
        return _unreadable(one)


def _unreadable(chunk: Chunk) -> ChunkResult:
    exc = sys.exc_info()[1]
    text = str(exc).splitlines()[0][:200] if str(exc) else ""
    result = ChunkResult(table=project(table.empty(), chunk.columns), position=chunk.position)
    result.file_skips.append((chunk.paths[0], f"could not be read ({type(exc).__name__}: {reader.escape_text(text)})"))
    return result


def _parse_chunk(chunk: Chunk) -> ChunkResult:
    key = chunk.key
    limits = chunk.limits or from_env()
    rows = table.Builder(limits=limits)
    result = ChunkResult(table=table.empty(), position=chunk.position)  # table replaced below if there are rows
    for path in chunk.paths:
        data, problem = _read_file(path, limits, result)
        if data is None or (problem := _name_problem(path)):
            result.file_skips.append((reader.escape_text(path), problem))
            continue
        result.bytes_read += len(data)
        if ocsf_api.is_parquet(data):
            _take_parquet(path, data, rows, result, limits)
            continue
        text, gz_problem = reader.decompress(data, limits.max_file_bytes)
        empty = not data
        del data
        if gz_problem is None and is_archive(text):
            _take_archive(path, text, rows, result, limits)
        else:
            _take(path, text, gz_problem, empty, rows, result, limits)
        del text
    if rows.rows:
        built, bad_times = rows.table()
        result.table = table.sort_chunk(built)
        del built
        for row, reason in bad_times:
            result.record_skips.append((rows.file_of(row), rows.indices[row], reason))
        notes = rows.time_notes
        result.suspicious_times, result.suspicious_time_kinds = notes.rows, notes.kinds
        result.suspicious_time_sample = [(rows.file_of(row), rows.indices[row], event_id, text, why)
                                         for row, event_id, text, why in notes.sample]
    if key is not None:
        cache.write(key, result.table, result.meta())
    result.table = project(result.table, chunk.columns)  # whole records parsed, only the columns asked kept
    return result


def _take(path: str, text: bytes, gz_problem: str | None, empty: bool, rows: table.Builder, result: ChunkResult,
          limits: Limits) -> None:
    """One file's text (decompressed) into ``rows`` and ``result``."""
    n = rows.add_text(text, path) if gz_problem is None else None
    if n is not None:  # the native scanner read it: the common case
        result.files_read += 1
        result.records_seen += n
        return
    parsed = reader.parse_text(text, gz_problem, empty=empty, limits=limits)
    if parsed.kind == reader.DIGEST:
        result.digest_files += 1
        return
    if parsed.kind == reader.NOT_CLOUDTRAIL:
        result.other_files += 1
        result.file_skips.append((path, parsed.error))
        return
    result.files_read += 1
    result.records_seen += parsed.positions
    result.text_escaped += parsed.text_escaped
    if parsed.error:
        result.file_skips.append((path, parsed.error))
    if parsed.mapped.documents:
        result.file_notes.append((path, parsed.mapped.note()))
    for pos, reason in parsed.skipped:
        if pos is None:
            result.file_skips.append((path, reason))
        else:
            result.record_skips.append((path, pos, reason))
    rows.add(parsed.records, path, parsed.indices)


def _take_parquet(path: str, data: bytes, rows: table.Builder, result: ChunkResult, limits: Limits) -> None:
    """Security Lake's OCSF API Activity Parquet (trailtools/events/ocsf_api.py): the events mapped back to
    CloudTrail records are read as a file of them; events of another class are counted skips (by row number)."""
    text, problem, skipped = ocsf_api.as_text(data, limits.max_file_bytes)
    if problem:
        if problem.startswith("not CloudTrail"):
            result.other_files += 1
        result.file_skips.append((path, problem))
        return
    _take(path, text, None, False, rows, result, limits)
    result.records_seen += len(skipped)
    result.record_skips.extend((path, n, why) for n, why in skipped)


def _take_archive(path: str, text: bytes, rows: table.Builder, result: ChunkResult, limits: Limits) -> None:
    """Every member of a zip or tar archive as a file of its own (see trailtools/events/archives.py); the archive
    itself is noted with how many members it held."""
    members = 0
    for member in archives.members(text, path, limits):
        members += 1
        if member.note:
            result.file_notes.append((member.label, member.note))
        if member.text is None:
            result.file_skips.append((member.label, member.problem))
            continue
        if member.problem is None and ocsf_api.is_parquet(member.text):
            _take_parquet(member.label, member.text, rows, result, limits)
            continue
        name = member.label.rsplit("/", 1)[-1]
        if member.problem is None and not (layout.has_event_extension(name) or layout.match_name(name)
                                           or looks_like_events(member.text[:SNIFF_BYTES])):
            result.other_files += 1  # as in a folder: a file that is not CloudTrail by name or content is not read
            continue
        _take(member.label, member.text, member.problem, member.empty, rows, result, limits)
    result.file_notes.append((path, f"an archive: {members:,} member files found and read in place"))


def merge(results: list[ChunkResult], combine: bool = True) -> ChunkResult:
    """One result for several chunks: counts added, skips kept in order, one table with one dictionary per column
    (``combine=False``: the tables' own pieces, for when together they are too large for one Arrow array).

    Done in the workers, so that the parent receives a few large tables instead of many small ones.
    """
    tables, offset = [], 0
    for r in results:
        t = r.table
        if not t.num_rows:
            continue
        if offset:  # ``_row`` becomes the row's place in the file order of the whole batch
            i = t.schema.get_field_index(table.ROW)
            t = t.set_column(i, t.schema.field(i), pc.add(t.column(i), pa.scalar(offset, pa.int32())))
        tables.append(t)
        offset += t.num_rows
    if not tables:
        joined = table.empty()
    elif combine:
        joined = pa.concat_tables(tables).unify_dictionaries().combine_chunks()
    else:
        joined = pa.concat_tables(tables).unify_dictionaries()
    merged = ChunkResult(table=joined, position=results[0].position if results else 0)
    for r in results:
        merged.add_counts(r)
    return merged


def parse_batch(chunks: list[Chunk], combine: bool = True) -> ChunkResult:
    """Parse several chunks (the cached ones were served by :func:`from_cache`) and merge them (``combine`` False:
    one dictionary per column, but the chunks' rows not copied into one table: for the process that builds the
    frame, which copies them anyway)."""
    results = [parse_chunk(c) for c in chunks]
    if not combine:
        return merge(results, combine=False)
    try:
        return merge(results)
    except Exception:  # noqa: BLE001 - together too large for one Arrow array: the pieces are kept apart
        return merge(results, combine=False)
