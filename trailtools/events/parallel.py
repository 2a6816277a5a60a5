"""Run chunks of files on all cores, in order, with an optional progress callback."""
from __future__ import annotations

import bisect
import contextlib
import ctypes
import functools
import gc
import mmap
import multiprocessing
import os
import pickle
import platform
import select
import signal
import struct
import sys
import tempfile
import traceback
import types
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

from trailtools.events import table
from trailtools.events.chunk import Chunk, ChunkResult, parse_batch

#: Below this many bytes to parse, starting worker processes costs more than it saves.
IN_PROCESS_BYTES = 16 * 1024 * 1024
#: Each worker gets its share of the chunks in this many batches (fewer, larger results; a progress step each).
BATCHES_PER_WORKER = 16
#: Above IN_PROCESS_BYTES (and below this many bytes, where set), the calling process parses a share itself while
#: ``workers - 1`` forked children parse the rest, all taking pieces as they go (:func:`_shared`): no pool to start
#: and stop, no core idle, the children's tables mapped from memory files instead of pickled through pipes, this
#: process's own not moved at all. Measured on a whole 1M-event trail (120,000 files, 2 cores), against a pool of two
#: workers: 6.4-7.0 s instead of 7.9-8.7 s, 10.3 CPU s instead of 11.5-12.7, peak 1.10-1.16 GB instead of 1.02 (the
#: memory files are freed only once every table mapped from them is). None: no bound; the pool (``0``) is what
#: runs where ``fork`` is not available.
SHARED_BYTES: int | None = None
#: The smallest piece of a chunk taken at a time in the shared mode (gzip bytes, once the files' sizes are known;
#: files before); pieces start larger (a share of what is left), so that the processes finish together without
#: many small tables.
MIN_PIECE_BYTES = 512 * 1024
MIN_PIECE_FILES = 48
LOCK_TIMEOUT_S = 60
#: How often, while it waits for its children, the calling process passes on their progress.
PROGRESS_S = 0.25


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _context(clean: bool = False):
    """fork starts workers in milliseconds with everything imported; elsewhere the platform default.

    ``clean``: workers that do not start as copies of this process (whose resident pages a forked child keeps, and
    counts, for its whole life: a cold 10M-event scan forked its parsers from a process holding 0.3-0.8 GB of the
    window's rows, and they peaked at 0.6-1.14 GB). They come from a fork server, a small process started once that
    has imported only the parser (:func:`_parse_clean` gives them this process's environment with each batch).
    """
    methods = multiprocessing.get_all_start_methods()
    if clean and "forkserver" in methods:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["trailtools.events.chunk"])
        return ctx
    if "fork" in methods:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()  # pragma: no cover


@contextlib.contextmanager
def _main_left_alone():
    """Processes started meanwhile do not run this program's main script or module again.

    A process from a fork server is prepared as a spawned one: it imports the parent's ``__main__`` (a script run by
    path, or a module run with ``-m`` other than a package's ``__main__``) again, which runs whatever such a script
    does outside an ``if __name__ == "__main__":`` guard (its own investigation again, in every worker). The workers
    only need trailtools's functions: they are told of no main module.
    """
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


def _parse_clean(environ: dict[str, str], batch: list[Chunk]) -> ChunkResult:
    """``parse_batch(batch)`` in a worker of a fork server, with the caller's environment (the cache folder and the
    limits are read from it: a fork server keeps the one it started with)."""
    if os.environ != environ:
        os.environ.clear()
        os.environ.update(environ)
    return_freed_memory()
    return parse_batch(batch)


@functools.lru_cache(maxsize=1)
def _glibc():
    """The C library where it is glibc (whose allocator the functions below tune), else None."""
    try:
        if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
            return ctypes.CDLL(None)
    except (OSError, AttributeError, TypeError):  # pragma: no cover - no such libc
        pass
    return None


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_RETURN_BLOCKS = 128 * 1024  # glibc's own starting values for both thresholds
_KEEP_BLOCKS, _KEEP_TOP = 32 * 1024 * 1024, 64 * 1024 * 1024


def return_freed_memory() -> None:
    """Make glibc give large freed blocks back to the system at once (Linux with glibc; elsewhere nothing).

    The chunk tables arrive from the workers as many multi-megabyte buffers; by default glibc raises its mmap
    threshold as such blocks are freed and then keeps the memory, so the parent's peak grew by whatever the merge
    had already released. A fixed 128 KiB threshold (glibc's own starting value) measured 1.31 -> 1.11 GB peak on
    the 1M-event load. Process-wide and lasting, like any mallopt; harmless for the rest of the program. What is
    free already (kept by :func:`keep_freed_memory`) goes back now.
    """
    libc = _glibc()
    if libc is not None:
        libc.mallopt(_M_MMAP_THRESHOLD, _RETURN_BLOCKS)
        libc.mallopt(_M_TRIM_THRESHOLD, _RETURN_BLOCKS)
        libc.malloc_trim(0)


def keep_freed_memory() -> None:
    """Make glibc keep what is freed for the next allocations (Linux with glibc; elsewhere nothing), until
    :func:`return_freed_memory`: while parsing, when speed matters more than the peak (the frame, built after, makes
    the peak).

    Each file's text, the scanner's column buffers and numpy's arrays are allocated and freed over and over; given
    back to the system at once, every new one is fresh pages, each a page fault: on the 1M-event load a parsing
    child took 190,000 faults (1.3 s of system time), 45,000 with the memory kept (0.95 s). Blocks of 32 MiB and
    over still come from and go back to the system.
    """
    libc = _glibc()
    if libc is not None:
        libc.mallopt(_M_MMAP_THRESHOLD, _KEEP_BLOCKS)
        libc.mallopt(_M_TRIM_THRESHOLD, _KEEP_TOP)


def _batches(chunks: list[Chunk], n: int) -> list[list[Chunk]]:
    """Groups of chunks with consecutive positions and about the same number of files each."""
    total = sum(len(c.paths) for c in chunks)
    target = max(1, total // max(n, 1))
    out, current, size = [], [], 0
    for chunk in chunks:
        if current and chunk.position != current[-1].position + 1:
            out.append(current)
            current, size = [], 0
        current.append(chunk)
        size += len(chunk.paths)
        if size >= target:
            out.append(current)
            current, size = [], 0
    if current:
        out.append(current)
    return out


def run(chunks: list[Chunk], *, total_bytes: int, workers: int | None = None,
        progress: Callable[[int], None] | None = None,
        idle: Callable[[], None] | None = None, share: bool = True) -> list[ChunkResult]:
    """Parse every chunk; results (one per batch of chunks or piece of a chunk) come back in the chunks' order.

    Pieces of one chunk keep its ``position`` and come in file order, so a stable sort by position keeps them so.
    ``progress(n_files)`` is called after each batch. ``idle()`` is called once, in this process, when it has no
    parsing of its own left while workers may still be busy: at once with a pool (this process only waits), after
    its last piece in the shared mode, at the end in one process. Every worker process has been started by then, so
    it may start a thread of the caller's (a thread running while a process forks can leave the child a lock that no
    one will release) to use the core that is free. ``share`` False: this process parses nothing itself where
    workers can (it never holds a chunk's rows while they are parsed: for a caller that reads them back from the
    cache, whose results hold little), and its workers are not copies of it (see :func:`_context`): what it holds
    meanwhile does not count in theirs.
    """
    workers = workers or default_workers()
    splittable = len(chunks) > 1 or (len(chunks) == 1 and not chunks[0].cacheable and len(chunks[0].paths) > 1)
    if (share and workers > 1 and splittable and IN_PROCESS_BYTES <= total_bytes
            and (SHARED_BYTES is None or total_bytes < SHARED_BYTES)
            and "fork" in multiprocessing.get_all_start_methods()):
        return _shared(chunks, workers, progress, idle)
    in_process = workers <= 1 or len(chunks) <= 1 or total_bytes < IN_PROCESS_BYTES
    batches = _batches(chunks, 1 if in_process else workers * BATCHES_PER_WORKER)
    results: list[ChunkResult] = []
    if in_process:
        for batch in batches:
            results.append(parse_batch(batch))
            if progress:
                progress(sum(len(c.paths) for c in batch))
        if idle:
            idle()
        return results
    return_freed_memory()
    ctx = _context(clean=not share)
    with ProcessPoolExecutor(max_workers=min(workers, len(batches)), mp_context=ctx) as pool:
        if ctx.get_start_method() == "forkserver":
            environ = dict(os.environ)
            with _main_left_alone():  # (the processes start at the first submits, here)
                parsed = [pool.submit(_parse_clean, environ, batch) for batch in batches]
        else:
            parsed = [pool.submit(parse_batch, batch) for batch in batches]  # the workers are running
        if idle:  # the pool started all its processes at the first submits (forked from here or from the server)
            idle()
        lost = []
        for batch, future in zip(batches, parsed):
            try:
                results.append(future.result())
            except Exception as exc:  # noqa: BLE001 - a worker that raised or died: its batch again, below
                lost.append((len(results), batch, _what(exc)))
                results.append(None)
            if progress:
                progress(sum(len(c.paths) for c in batch))
    for at, batch, what in reversed(lost):  # (the pool is gone: the batches are parsed again in children of their own)
        results[at:at + 1] = recover(batch, what)
    return results


def _what(exc: BaseException) -> str:
    text = str(exc).splitlines()[0][:200] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _status_text(status: int) -> str:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = str(sig)
        return f"killed by {name}" + (" (out of memory?)" if sig == signal.SIGKILL else "")
    return f"exit status {os.WEXITSTATUS(status)}" if os.WIFEXITED(status) else f"wait status {status}"


def _in_child(chunks: list[Chunk]) -> tuple[ChunkResult | None, str]:
    """``parse_batch(chunks)`` in a forked child of its own: (the result, "") or (None, what became of the child)."""
    out = _memory_file()
    try:
        try:
            pid = os.fork()
        except OSError as exc:
            return None, f"no worker process could be started ({exc.strerror or exc})"
        if pid == 0:  # pragma: no cover - the child (coverage does not follow os._exit)
            code = 1
            try:
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                writer = _Writer(out)
                try:
                    writer.send(parse_batch(chunks))
                except Exception as exc:  # noqa: BLE001 - its text, for the reason
                    writer.send(_what(exc))
                code = 0
            except BaseException:  # noqa: BLE001 - the parent sees the status
                pass
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        if status == 0:
            try:
                sent = _read_back(out)
            except Exception as exc:  # noqa: BLE001
                return None, f"its result could not be read back ({_what(exc)})"
            if sent and isinstance(sent[0], ChunkResult):
                return sent[0], ""
            if sent:
                return None, f"it raised {sent[0]}"
        return None, _status_text(status)
    finally:
        os.close(out)


def recover(chunks: list[Chunk], what: str) -> list[ChunkResult]:
    """What a worker that raised or died (``what``) did not give back: parsed again in a child of its own, and if
    that fails too, in halves, until the file that ends its worker is alone; only that file is lost, listed with the
    reason. Results in the chunks' order (the pieces of a chunk keep its position)."""
    result, why = _in_child(chunks)
    if result is not None:
        return [result]
    files = [(c, path) for c in chunks for path in c.paths]
    if len(files) == 1:
        c, path = files[0]
        lost = ChunkResult(table=table.empty(), position=c.position)
        lost.file_skips.append((path, f"reading this file failed in its worker process ({why or what}): skipped"))
        return [lost]
    half = len(files) // 2
    return recover(_part(files[:half]), what) + recover(_part(files[half:]), what)


def _part(files: list[tuple[Chunk, str]]) -> list[Chunk]:
    """Chunks for some files of other chunks (never cached: a part is not the chunk its key names)."""
    out: list[Chunk] = []
    last = None
    for c, path in files:
        if c is last:
            out[-1].paths.append(path)
        else:
            out.append(Chunk([path], position=c.position, limits=c.limits, columns=c.columns))
        last = c
    return out


class _Pieces:
    """The files of the chunks as one sequence [0, n), taken in pieces from the front (children) and the back (the
    calling process) until the two ends meet.

    A piece never splits a cacheable chunk (it is parsed whole, to be cached whole) nor spans two chunks whose
    positions are not consecutive (a cached chunk lies between them). Pieces start at a share of what is left and
    shrink to MIN_PIECE_BYTES, so that everyone finishes at about the same time: what is left is measured in bytes
    once the first child has looked up the files' sizes (:meth:`measure`, while the parent parses its first piece;
    one region's files can be ten times another's), in files until then. The two ends, the sizes and whether they
    are known live in shared memory (inherited at fork), guarded by a lock.
    """

    def __init__(self, chunks: list[Chunk], processes: int, ctx):
        self.chunks = chunks
        self.starts, self.cuts = [], {0}
        self.ahead: dict[int, int] = {}  # a cacheable chunk's first file -> its end (taken whole from the front)
        self.behind: dict[int, int] = {}  # its end -> its first file (taken whole from the back)
        n = 0
        for i, c in enumerate(chunks):
            self.starts.append(n)
            end = n + len(c.paths)
            if c.cacheable:
                self.ahead[n], self.behind[end] = end, n
                self.cuts.update((n, end))
            elif i and c.position != chunks[i - 1].position + 1:
                self.cuts.add(n)
            n = end
        self.cuts.add(n)
        self.cuts = sorted(self.cuts)
        self.n, self.processes = n, processes
        self.ends = mmap.mmap(-1, 32)  # front, back, sizes known, files the children have parsed
        self.ends[:] = struct.pack("qqqq", 0, n, 0, 0)
        self._sums = mmap.mmap(-1, 8 * (n + 1))  # bytes of the files before each index (prefix sums)
        self.sums = memoryview(self._sums).cast("q")
        self.lock = ctx.Lock()

    def measure(self) -> None:
        """Look up the files' sizes (a ``stat`` each) for the pieces to come."""
        total, sums = 0, [0]
        for c in self.chunks:
            for path in c.paths:
                try:
                    total += os.stat(path).st_size + 1
                except OSError:
                    total += 1
                sums.append(total)
        self._sums[:] = struct.pack(f"{len(sums)}q", *sums)
        with self._locked():
            self.ends[16:24] = struct.pack("q", 1)

    @contextlib.contextmanager
    def _locked(self):
        # held for microseconds: a process killed while holding it is the only way to wait this long
        if not self.lock.acquire(timeout=LOCK_TIMEOUT_S):
            raise RuntimeError("a worker process stopped while taking work")
        try:
            yield
        finally:
            self.lock.release()

    def parsed(self, files: int) -> None:
        """Count ``files`` a child has parsed (for the caller's progress)."""
        with self._locked():
            self.ends[24:32] = struct.pack("q", struct.unpack("q", self.ends[24:32])[0] + files)

    def children_parsed(self) -> int:
        """The files the children have parsed so far."""
        with self._locked():
            return struct.unpack("q", self.ends[24:32])[0]

    def take(self, front: bool) -> tuple[int, list[Chunk]] | None:
        """The next piece: (its first file's index, the chunks or parts of chunks it holds); None when all is taken."""
        with self._locked():
            lo, hi, measured = struct.unpack("qqq", self.ends[:24])
            if lo >= hi:
                return None
            if front:
                a = lo
                b = self.ahead.get(a)
                if b is None:
                    if measured:
                        left = self.sums[hi] - self.sums[lo]
                        step = self.sums[lo] + max(MIN_PIECE_BYTES, left // (2 * self.processes))
                        b = max(a + 1, bisect.bisect_left(self.sums, step, a, hi))
                    else:
                        b = a + max(MIN_PIECE_FILES, (hi - lo) // (2 * self.processes))
                    b = min(hi, b, self.cuts[bisect.bisect_right(self.cuts, a)])
                lo = b
            else:
                b = hi
                a = self.behind.get(b)
                if a is None:
                    if measured:
                        left = self.sums[hi] - self.sums[lo]
                        step = self.sums[hi] - max(MIN_PIECE_BYTES, left // (2 * self.processes))
                        a = min(b - 1, bisect.bisect_right(self.sums, step, lo, hi) - 1)
                    else:
                        a = b - max(MIN_PIECE_FILES, (hi - lo) // (2 * self.processes))
                    a = max(lo, a, self.cuts[bisect.bisect_left(self.cuts, b) - 1])
                hi = a
            self.ends[:16] = struct.pack("qq", lo, hi)
        return a, self._slice(a, b)

    def _slice(self, a: int, b: int) -> list[Chunk]:
        out = []
        i = bisect.bisect_right(self.starts, a) - 1
        while i < len(self.chunks) and self.starts[i] < b:
            c, s = self.chunks[i], self.starts[i]
            lo, hi = max(a, s) - s, min(b, s + len(c.paths)) - s
            if lo == 0 and hi == len(c.paths):
                out.append(c)
            else:  # part of a chunk that is not cached (the cacheable ones are never split)
                out.append(Chunk(c.paths[lo:hi], position=c.position, limits=c.limits, columns=c.columns))
            i += 1
        return out


_ALIGN = 64  # Arrow's buffer alignment


class _Writer:
    """Appends objects to a (memory) file, each a pickle whose buffers (the Arrow columns) are written apart, aligned,
    so that :func:`_read_back` maps them instead of copying them. A child writes each piece as soon as it is parsed:
    writing is spread over its work, and at the end only the last piece is left to write."""

    def __init__(self, fd: int):
        self.fd, self.at = fd, 0

    def _write(self, data) -> None:
        view = memoryview(data).cast("B")
        self.at += view.nbytes
        while view:
            view = view[os.write(self.fd, view):]

    def send(self, obj) -> None:
        buffers: list[pickle.PickleBuffer] = []
        head = pickle.dumps(obj, protocol=5, buffer_callback=buffers.append)
        views = [b.raw() for b in buffers]
        self._write(struct.pack("qq", len(head), len(views)) + struct.pack(f"{len(views)}q", *[v.nbytes for v in views])
                    + head)
        for v in views:
            if -self.at % _ALIGN:
                self._write(bytes(-self.at % _ALIGN))
            if v.nbytes:
                self._write(v)
        del views, buffers


def _read_back(fd: int, partial: bool = False) -> list:
    """Everything a :class:`_Writer` wrote; the buffers stay in the mapping (no copy), which lives as long as they
    do (the file's descriptor may be closed). ``partial``: the writer may have died while writing; the objects
    written whole before that."""
    size = os.fstat(fd).st_size
    if size == 0:
        return []
    # a private mapping: no copy, yet writable (copy on write), as the frame's columns must be for the caller
    view = memoryview(mmap.mmap(fd, size, access=mmap.ACCESS_COPY))
    out, at = [], 0
    while at < size:
        try:
            n_head, n_views = struct.unpack_from("qq", view, at)
            sizes = struct.unpack_from(f"{n_views}q", view, at + 16)
            at += 16 + 8 * n_views
            head = view[at:at + n_head]
            at += n_head
            buffers = []
            for n in sizes:
                at += -at % _ALIGN
                buffers.append(view[at:at + n])
                at += n
            if at > size:
                raise ValueError("cut short")
            out.append(pickle.loads(head, buffers=buffers))
        except Exception:  # noqa: BLE001 - an object the writer did not finish
            if not partial:
                raise
            break
    return out


def _child(pieces: _Pieces, out: int, done: int, measure: bool) -> None:
    """In a forked child: parse pieces from the front until none is left, each written to ``out`` as it is done,
    then (True, None) or (False, the exception) and a byte to ``done`` (the pipe's end tells the parent the child is
    gone, if it died); never returns."""
    code = 0
    try:
        keep_freed_memory()
        writer = _Writer(out)
        try:
            if measure:
                pieces.measure()
            while (piece := pieces.take(front=True)) is not None:
                result = parse_batch(piece[1])
                files = sum(len(c.paths) for c in piece[1])
                writer.send((piece[0], files, result))
                del result
                pieces.parsed(files)
            writer.send((True, None))
        except BaseException as exc:  # noqa: BLE001 - handed to the parent, which raises it
            code = 1
            try:
                writer.send((False, exc))
            except Exception:  # noqa: BLE001 - an exception that cannot be pickled: its text
                writer.send((False, RuntimeError(traceback.format_exc())))
        os.write(done, b"x")
    except BaseException:  # noqa: BLE001 - the parent sees no byte and says so
        code = 1
    finally:
        os._exit(code)


def _memory_file() -> int:
    try:
        return os.memfd_create("trailtools-chunks", os.MFD_CLOEXEC)
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        with tempfile.TemporaryFile() as f:
            return os.dup(f.fileno())


def _shared(chunks: list[Chunk], workers: int, progress, idle) -> list[ChunkResult]:
    """Parse with ``workers - 1`` forked children and this process, each taking pieces as it goes (see _Pieces).

    Each child writes its results to a memory file of its own as it goes, which this process maps once the child is
    done: busy parsing, it never has to read from the children meanwhile. The children count the files they parsed
    in shared memory: ``progress`` gets them with this process's own after each of its pieces, and while it waits
    for the children's last ones.
    """
    return_freed_memory()  # this process parses too: the blocks it frees go back at once
    ctx = _context()
    pieces = _Pieces(chunks, workers, ctx)
    children: dict[int, tuple[int, int]] = {}  # pid -> (its memory file, the read end of its pipe)
    results: list[tuple[int, int, ChunkResult]] = []  # (first file, files, result)
    try:
        gc.freeze()  # the children do not make copies of the parent's pages by collecting its objects
        try:
            for k in range(workers - 1):
                out = _memory_file()
                r, w = os.pipe()
                try:
                    pid = os.fork()
                except OSError:
                    for fd in (out, r, w):
                        os.close(fd)
                    raise
                if pid == 0:  # pragma: no cover - the child (coverage does not follow os._exit)
                    os.close(r)
                    signal.signal(signal.SIGINT, signal.SIG_DFL)
                    _child(pieces, out, w, measure=k == 0)
                os.close(w)
                children[pid] = (out, r)
        finally:
            gc.unfreeze()
        failures: list[str] = []  # what became of the processes that did not give back all they took
        counted = [0]  # the children's files given to progress so far

        def report(own: int = 0) -> None:
            if progress:
                theirs = pieces.children_parsed()
                progress(own + theirs - counted[0])
                counted[0] = theirs

        keep_freed_memory()  # while this process parses: given back before the frame is built (its peak)
        try:
            while (piece := pieces.take(front=False)) is not None:
                files = sum(len(c.paths) for c in piece[1])
                try:
                    results.append((piece[0], files, parse_batch(piece[1], combine=False)))
                except Exception as exc:  # noqa: BLE001 - its files are parsed again below, in children of their own
                    failures.append(_what(exc))
                report(files)
        finally:
            return_freed_memory()
        if idle:  # the children may still be parsing their last pieces, then they exit
            idle()
        poll, waiting = select.poll(), {r for _, r in children.values()}   # (poll: no limit on descriptor numbers)
        for r in waiting:
            poll.register(r, select.POLLIN)
        while waiting:  # the children's progress until each has said it is done (or its pipe closed: it died)
            for r, _ in poll.poll(PROGRESS_S * 1000):
                poll.unregister(r)
                waiting.discard(r)
            report()
        for pid in list(children):
            out, r = children[pid]
            finished = os.read(r, 1)
            try:  # what it sent before it ended, however it ended
                sent = _read_back(out, partial=True)
            except Exception:  # noqa: BLE001 - nothing of it is used: its files are parsed again below
                sent = []
            del children[pid]
            os.close(out)
            os.close(r)
            _, status = os.waitpid(pid, 0)
            end = sent.pop() if sent and len(sent[-1]) == 2 else None
            if not finished or end is None:
                failures.append(f"a worker process ended abruptly ({_status_text(status)})")
            elif not end[0]:
                failures.append(f"a worker process failed ({_what(end[1])})")
            results.extend(sent)
        if failures:  # what no process gave back: parsed again, in children of their own (see recover)
            results.sort(key=lambda x: x[0])
            gaps, at = [], 0
            for first, files, _ in results:
                if first > at:
                    gaps.append((at, first))
                at = max(at, first + files)
            if at < pieces.n:
                gaps.append((at, pieces.n))
            for a, b in gaps:
                results.extend((a, 0, got) for got in recover(pieces._slice(a, b), "; ".join(failures)))
    finally:
        for pid, fds in children.items():  # only after an error: stop and reap the others
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except OSError:
                pass
            for fd in fds:
                os.close(fd)
    results.sort(key=lambda x: x[0])
    return [r for _, _, r in results]
