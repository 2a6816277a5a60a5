"""The local columnar cache: a chunk of files already parsed is read back from an Arrow IPC file instead.

A chunk's key is the SHA-256 of the reader's version and every file's path, size and modification time, so a changed,
added or removed file, or a new reader, misses the cache. Location: ``$TRAILTOOLS_CACHE_DIR``, else
``$XDG_CACHE_HOME/trailtools``, else ``~/.cache/trailtools``. Delete the folder to reclaim the space.

Each entry is one chunk's table (:data:`trailtools.events.table.CHUNK_SCHEMA`, its strings as ``large_string``, sorted
by time, one dictionary per column) in the Arrow IPC file format (Feather v2), uncompressed, with the chunk's counts and
skips as JSON in the schema metadata. It is read by memory-mapping it: nothing is decoded or copied, and the columns the
frame keeps as they are (the strings) stay views of the file's pages, shared with the page cache. Entries are larger
than the zstd-compressed Parquet of before (about 700 bytes an event against 180); a warm load is several times cheaper.
An entry is written to a temporary file and renamed into place, so a reader sees a whole entry or none, and a mapped
entry is never changed under it (a rewrite replaces the file; the mapping keeps the old one). An entry that cannot be
opened or fails Arrow's full validation (a truncated or damaged file) is a miss; a cache that cannot be written only
costs speed. An entry is validated on its first read, and a mark beside it (``.valid``) then records which columns
passed, with the file's device, inode, size and times: a later read of those columns of the same unchanged file skips
the validation; any change to the file validates it again. A scan that keeps few of a chunk's rows (the login's out-of-
core engine) reads an entry a slice of rows at a time, each slice mapped on its own and let go with it
(:class:`Slices`), so that a chunk's pages are never all held at once; every slice is validated when the entry is
opened (unless marked).
"""
from __future__ import annotations

import ctypes
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.ipc as ipc

_META_KEY = b"trailtools.events.chunk"
#: The entries' file format: part of the reader's version, so that entries of another format are never read.
FORMAT = "arrow-ipc-1"
SUFFIX = ".arrow"
#: The code that turns files into rows (and this module, which stores them); names that do not exist (an optional
#: native part not built into this copy) are skipped.
_CODE_FILES = ("records.py", "reader.py", "table.py", "derive.py", "chunk.py", "cache.py", "_scan.c", "limits.py",
               "safe_open.py")


def cache_root() -> Path:
    env = os.environ.get("TRAILTOOLS_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "trailtools"


def _reader_version() -> str:
    """Changes whenever the code that turns files into rows changes, so stale entries are never served."""
    h = hashlib.sha256(FORMAT.encode())
    here = Path(__file__).parent
    for name in _CODE_FILES:
        try:
            code = (here / name).read_bytes()
        except FileNotFoundError:
            continue
        h.update(f"\0{name}\0{len(code)}\0".encode())
        h.update(code)
    return h.hexdigest()[:16]


READER_VERSION = _reader_version()


def chunk_key(identity: str) -> str:
    """Key for a chunk whose files ``identity`` describes: a ``path NUL size NUL mtime_ns`` line per file."""
    h = hashlib.sha256(READER_VERSION.encode())
    h.update(identity.encode("utf-8", "surrogateescape"))
    return h.hexdigest()


def large_strings(table: pa.Table) -> pa.Table:
    """The table with its string columns as ``large_string``: the type pandas keeps string columns in. Entries are
    stored so, and the frame's string columns are then the entries' own memory (pandas would otherwise convert
    them, 8 bytes of new offsets a row and column); chunks parsed in this run are converted to match."""
    if not any(f.type == pa.string() for f in table.schema):
        return table
    return table.cast(pa.schema([f.with_type(pa.large_string()) if f.type == pa.string() else f for f in table.schema],
                                metadata=table.schema.metadata))


def entry_path(key: str) -> Path:
    return cache_root() / f"events-{READER_VERSION}" / key[:2] / f"{key}{SUFFIX}"


def read(key: str, columns: tuple[str, ...] | None = None) -> tuple[pa.Table, dict] | None:
    """The chunk stored under ``key`` (memory-mapped) and its metadata, or None: a miss, or an entry that cannot be
    read or is damaged. ``columns``: only those (and ``_row``), selected before anything is checked, so that the
    other columns' pages are never touched."""
    path = entry_path(key)
    try:
        table = _mapped(path, columns)
        meta = json.loads(table.schema.metadata[_META_KEY])
        # offsets, dictionary indices, UTF-8: a damaged entry must be a miss, never a crash later
        _validated(path, table.column_names, lambda: table.validate(full=True))
    except (OSError, KeyError, ValueError, TypeError, pa.ArrowException):
        return None
    return table.replace_schema_metadata(None), meta


#: Beside an entry, the mark that it passed Arrow's full validation as the file is now (:func:`_validated`).
VALID_SUFFIX = ".valid"
#: An entry changed less than this long ago (seconds) is validated on every read and never marked: a file's change
#: time moves in the filesystem's ticks (a few milliseconds), so that a change just after a mark could keep its time.
SETTLED_S = 2.0


def _stamp(path: Path) -> dict:
    st = os.stat(path)
    return {"version": READER_VERSION, "file": [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]}


def _validated(path: Path, columns: list[str], validate) -> None:
    """Run ``validate`` (Arrow's full validation of the entry's ``columns``, raising if it fails) unless the entry's
    mark says those columns of this very file passed it: the same device, inode, size and modification and change
    times (any write to the file, or a file put in its place, changes one; the change time cannot be set back).
    Then mark it (the columns checked so far). A warm scan of a 10M-event trail validated 6 GB of entries on every
    run (2-3 s of 35); an entry is now validated once, on its first read after it was written."""
    mark = path.with_name(path.name + VALID_SUFFIX)
    stamp = _stamp(path)
    try:
        known = json.loads(mark.read_text())
        if known.get("file") == stamp["file"] and known.get("version") == stamp["version"] \
                and set(columns) <= set(known.get("columns", ())):
            return
        done = known.get("columns", []) if known.get("file") == stamp["file"] else []
    except (OSError, ValueError, AttributeError, TypeError):   # no mark, or not one of ours
        done = []
    validate()
    if time.time_ns() - stamp["file"][4] < SETTLED_S * 1e9:
        return
    tmp = mark.with_name(f".{mark.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps({**stamp, "columns": sorted(set(done) | set(columns))}))
        os.replace(tmp, mark)
    except OSError:     # a cache that cannot be written: validated again next time
        try:
            tmp.unlink()
        except OSError:
            pass


def _mapped(path: Path, columns: tuple[str, ...] | None) -> pa.Table:
    """The entry at ``path``, memory-mapped (nothing read yet), with only ``columns`` (and ``_row``) where given; its
    schema metadata kept."""
    return _mapping(path, columns)[0]


def _mapping(path: Path, columns: tuple[str, ...] | None) -> tuple[pa.Table, pa.Buffer, int]:
    """:func:`_mapped`, with the mapping's first byte (a buffer at its start, which keeps it alive) and its size."""
    with pa.memory_map(str(path)) as source:
        size = source.size()
        start = source.read_buffer(1)
        table = ipc.open_file(source).read_all()  # buffers keep the mapping alive; the descriptor is closed
    return (table if columns is None else table.select([*columns, "_row"])), start, size


#: Rows of an entry a :class:`Slices` hands out at a time.
SLICE_ROWS = 65_536


class Slices:
    """A cache entry read a slice of rows at a time, each slice from a mapping of the file of its own: the pages of a
    slice are let go (unmapped) with the slice, so that a scan holds one slice of a chunk's file in memory, not the
    whole file (10M-event trail: a day's entry is 225 MB). Every slice is checked (Arrow's full validation) when the
    entry is opened, a slice at a time, unless the entry is marked (:func:`_validated`); the entry is a miss if one
    fails."""

    def __init__(self, path: Path, columns: tuple[str, ...] | None, num_rows: int, rows: int = SLICE_ROWS):
        self.path, self.columns, self.num_rows, self.rows = path, columns, num_rows, rows

    def __iter__(self):
        """The slices in order. A slice's pages are let go (see :func:`_let_go`) when the next one is asked for: the
        reader has taken what it keeps of it (copies), and a mapping stays alive as long as anything points into it,
        such as a dictionary a filtered copy shares (10M-event trail, warm: three slices' mappings, 157 MB of pages,
        were held at the scan's peak)."""
        before = None
        try:
            for start in range(0, self.num_rows, self.rows):
                table, mapping, size = _mapping(self.path, self.columns)
                if before is not None:
                    _let_go(*before)
                before = mapping, size
                yield table.slice(start, self.rows).replace_schema_metadata(None)
                del table
        finally:
            if before is not None:
                _let_go(*before)

    def _slice(self, start: int) -> pa.Table:
        return _mapped(self.path, self.columns).slice(start, self.rows).replace_schema_metadata(None)


_MADV_DONTNEED = 4
try:
    _madvise = ctypes.CDLL(None, use_errno=True).madvise if sys.platform.startswith("linux") else None
except (OSError, AttributeError):   # pragma: no cover - no such libc
    _madvise = None


def _let_go(mapping: pa.Buffer, size: int) -> None:
    """Unmap the pages of a read-only file mapping from this process (``MADV_DONTNEED``: they stay in the page
    cache; a later read of them maps them again, the same bytes). ``mapping``, a buffer at the mapping's start,
    keeps the mapping alive meanwhile, so the range is never anything else's memory. Linux only; elsewhere the pages
    go with the mapping."""
    if _madvise is not None and size > 0:
        _madvise(ctypes.c_void_p(mapping.address), ctypes.c_size_t(size), _MADV_DONTNEED)


def read_slices(key: str, columns: tuple[str, ...] | None = None,
                rows: int = SLICE_ROWS) -> tuple[Slices, dict] | None:
    """The chunk stored under ``key`` as :class:`Slices` and its metadata, or None (as :func:`read`)."""
    path = entry_path(key)
    try:
        whole = _mapped(path, columns)      # (its metadata and length: no page of its rows read)
        meta = json.loads(whole.schema.metadata[_META_KEY])
        entry = Slices(path, columns, whole.num_rows, rows)
        names = whole.column_names
        del whole

        def validate():
            for start in range(0, entry.num_rows, rows):
                entry._slice(start).validate(full=True)     # (its pages unmapped as it goes)

        _validated(path, names, validate)
    except (OSError, KeyError, ValueError, TypeError, pa.ArrowException):
        return None
    return entry, meta


def write(key: str, table: pa.Table, meta: dict) -> None:
    """Store a chunk; a cache that cannot be written (read-only home, full disk) only costs speed."""
    path = entry_path(key)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if any(col.num_chunks > 1 for col in table.columns):  # the IPC file format holds one dictionary a column
            table = table.unify_dictionaries().combine_chunks()
        table = large_strings(table).replace_schema_metadata({_META_KEY: json.dumps(meta).encode()})
        with pa.OSFile(str(tmp), "wb") as sink, ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
        os.replace(tmp, path)
    except (OSError, pa.ArrowException):
        try:
            tmp.unlink()
        except OSError:
            pass
