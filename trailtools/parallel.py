"""Run chunks of files on all cores, in order, with an optional progress callback."""
from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from typing import Callable

from .chunk import Chunk, ChunkResult, parse_chunk

#: Below this many bytes to parse, starting worker processes costs more than it saves.
IN_PROCESS_BYTES = 16 * 1024 * 1024


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _context():
    # fork starts workers in milliseconds with everything imported; elsewhere the platform default
    if "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()  # pragma: no cover


def run(chunks: list[Chunk], *, total_bytes: int, workers: int | None = None,
        progress: Callable[[int], None] | None = None) -> list[ChunkResult]:
    """Parse every chunk; results come back in the chunks' order. ``progress(n_files)`` after each chunk."""
    workers = workers or default_workers()
    results: list[ChunkResult] = []
    if workers <= 1 or len(chunks) <= 1 or total_bytes < IN_PROCESS_BYTES:
        for chunk in chunks:
            results.append(parse_chunk(chunk))
            if progress:
                progress(len(chunk.paths))
        return results
    with ProcessPoolExecutor(max_workers=min(workers, len(chunks)), mp_context=_context()) as pool:
        for chunk, result in zip(chunks, pool.map(parse_chunk, chunks, chunksize=1)):
            results.append(result)
            if progress:
                progress(len(chunk.paths))
    return results
