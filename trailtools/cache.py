"""The local columnar cache: a chunk of files already parsed is read back from Parquet instead.

A chunk's key is the SHA-256 of the reader's version and every file's path, size and modification time, so a changed,
added or removed file, or a new reader, misses the cache. Location: ``$TRAILTOOLS_CACHE_DIR``, else
``$XDG_CACHE_HOME/trailtools``, else ``~/.cache/trailtools``. Entries are written atomically (temp file + rename);
delete the folder to reclaim the space.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

_META_KEY = b"trailtools.chunk"
_CODE_FILES = ("records.py", "reader.py", "table.py", "derive.py", "chunk.py", "cache.py")


def cache_root() -> Path:
    env = os.environ.get("TRAILTOOLS_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "trailtools"


def _reader_version() -> str:
    """Changes whenever the code that turns files into rows changes, so stale entries are never served."""
    h = hashlib.sha256()
    here = Path(__file__).parent
    for name in _CODE_FILES:
        h.update((here / name).read_bytes())
    return h.hexdigest()[:16]


READER_VERSION = _reader_version()


def chunk_key(entries: list[tuple[str, int, int]]) -> str:
    """Key for a chunk of (absolute path, size, mtime_ns) entries."""
    h = hashlib.sha256(READER_VERSION.encode())
    for path, size, mtime in entries:
        h.update(f"{path}\0{size}\0{mtime}\n".encode())
    return h.hexdigest()


def entry_path(key: str) -> Path:
    return cache_root() / f"events-{READER_VERSION}" / key[:2] / f"{key}.parquet"


def read(key: str) -> tuple[pa.Table, dict] | None:
    path = entry_path(key)
    try:
        pf = pq.ParquetFile(path)
        meta = json.loads(pf.schema_arrow.metadata[_META_KEY])
        table = pf.read()
    except (OSError, KeyError, ValueError, TypeError, pa.ArrowException):
        return None
    return table.replace_schema_metadata(None), meta


def write(key: str, table: pa.Table, meta: dict) -> None:
    """Store a chunk; a cache that cannot be written (read-only home, full disk) only costs speed."""
    path = entry_path(key)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        table = table.replace_schema_metadata({_META_KEY: json.dumps(meta).encode()})
        pq.write_table(table, tmp, compression="zstd", compression_level=1)
        os.replace(tmp, path)
    except (OSError, pa.ArrowException):
        try:
            tmp.unlink()
        except OSError:
            pass
