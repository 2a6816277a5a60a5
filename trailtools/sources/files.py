"""Files on this machine -> the events frame, for every source that reads files: a local copy of a trail, or what a
live source fetched. Chunks the cache holds are served from it, the rest are parsed (in worker processes when
large), and the results are folded, in the chunks' order, into the load statistics and the frame."""
from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

from trailtools.errors import SourceError
from trailtools.events import cache, parallel
from trailtools.events.chunk import Chunk, from_cache
from trailtools.events.limits import from_env
from trailtools.events.query import Query
from trailtools.events.result import LoadOptions, LoadResult, collect
from trailtools.events.stats import LoadStats
from trailtools.progress import Progress


def load_chunks(chunks: list[Chunk], query: Query, stats: LoadStats, options: LoadOptions, *,
                total_bytes: int | None = None, idle: Callable[[], None] | None = None) -> LoadResult:
    """The frame of ``chunks``: served from the cache where it holds them, the rest parsed.

    ``total_bytes``: the size of the files (an estimate will do: it only chooses between one process and several);
    None: the sizes of the files to parse. ``idle``: see :func:`trailtools.events.parallel.run`.
    """
    limits = options.limits or from_env()
    columns = query.read_columns()
    for c in chunks:  # the workers read them with the chunks
        c.limits = c.limits or limits
        c.columns = columns
    total = sum(len(c.paths) for c in chunks)
    show = options.progress if options.progress is not None else (None if total > 200 else False)
    bar = Progress(total, enabled=show)
    cached = from_cache(chunks)
    todo = [c for c, hit in zip(chunks, cached) if hit is None]
    try:
        bar(total - sum(len(c.paths) for c in todo))
        parsed = parallel.run(todo, total_bytes=chunks_size(todo) if total_bytes is None else total_bytes,
                              workers=options.workers, progress=bar, idle=idle)
    finally:
        bar.close()
    # cached and parsed results in the chunks' order, so that ties and duplicates resolve as in a cold load (the
    # sort is stable: the pieces of one chunk that run() parsed apart keep its position and their order)
    results = sorted([hit for hit in cached if hit is not None] + parsed, key=lambda r: r.position)
    return collect(results, query, stats)


def chunks_size(chunks: list[Chunk]) -> int:
    """The bytes on disk of the chunks' files (a file gone since the listing counts 0): for the progress bar."""
    size = 0
    for c in chunks:
        for path in c.paths:
            try:
                size += os.path.getsize(path)
            except OSError:
                pass
    return size


def read_files(groups: list[tuple[list[str], bool]], query: Query, stats: LoadStats,
               options: LoadOptions) -> LoadResult:
    """What a live source fetched, read exactly as the local source reads files: ``groups`` of (paths, cacheable)
    become chunks (empty groups are left out)."""
    chunks = [Chunk(paths, cacheable=options.cache and ok, position=i)
              for i, (paths, ok) in enumerate(g for g in groups if g[0])]
    return load_chunks(chunks, query, stats, options)


def write_cache_file(path: Path, data: str | bytes, what: str = "the fetched events") -> None:
    """Write a fetched file under the cache root atomically; a folder that refuses it is one sentence."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            tmp.write_bytes(data)
        else:
            tmp.write_text(data)
        os.replace(tmp, path)
    except OSError as exc:  # a full disk or a read-only cache folder
        raise SourceError(f"Cannot keep {what} under {cache.cache_root()} ({exc.strerror or exc}); free "
                          "some space or set TRAILTOOLS_CACHE_DIR to a writable folder.") from None
