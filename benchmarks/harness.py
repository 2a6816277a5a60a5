"""What the benchmarks share: measuring a process (CPU, peak memory of its tree), the machine's load, waiting for idle.

- :func:`run_command` runs a whole command in its own process group and returns its wall and CPU seconds, the peak
  RSS of its largest process (exact, from ``wait4``) and the peak of its process tree's summed RSS (sampled), with a
  time limit and a memory watchdog that kills the group before the machine swaps;
- :class:`Sampler` samples the summed RSS of a process tree from ``/proc`` (``bench_load.py`` measures its children
  with it);
- :func:`busy_s`, :func:`own_cpu_s`, :func:`wait_idle`, :func:`loadavg`, :func:`cpu_model`: the machine.
"""
from __future__ import annotations

import ctypes
import os
import platform
import resource
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import NamedTuple


# ------------------------------------------------------------------------------------- memory sampling
def tree(pid: int) -> list[int]:
    """``pid`` and its descendants (from ``/proc/<pid>/task/*/children``)."""
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        try:
            for tid in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{tid}/children") as fh:
                    todo.extend(int(c) for c in fh.read().split())
        except OSError:
            pass
    return pids


def rss_kb(pid: int) -> int:
    # /proc/<pid>/status is a few counters (cheap); smaps_rollup (PSS) walks the page tables under the mm lock and
    # costs ~50 ms per read on a 3 GB process, which slows the process being measured.
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class Sampler(threading.Thread):
    """Peak summed RSS (``peak_kb``) and peak single-process RSS (``largest_kb``) of ``pid``'s tree, every
    ``interval`` s. With ``limit_kb``, calls ``on_limit`` once when the sum goes above it (a watchdog)."""

    def __init__(self, pid: int, interval: float = 0.02, limit_kb: int | None = None, on_limit=None):
        super().__init__(daemon=True)
        self.pid, self.interval, self.peak_kb, self.largest_kb = pid, interval, 0, 0
        self.limit_kb, self.on_limit, self.tripped = limit_kb, on_limit, False
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            sizes = [rss_kb(p) for p in tree(self.pid)]
            total = sum(sizes)
            self.peak_kb = max(self.peak_kb, total)
            self.largest_kb = max(self.largest_kb, max(sizes, default=0))
            if self.limit_kb and total > self.limit_kb and not self.tripped:
                self.tripped = True
                if self.on_limit:
                    self.on_limit()
            self.done.wait(self.interval)


# ---------------------------------------------------------------------------------------------- machine
def busy_s() -> float:
    """CPU seconds the whole machine has been busy (all cores), from /proc/stat."""
    try:
        with open("/proc/stat") as fh:
            f = [int(x) for x in fh.readline().split()[1:]]
    except OSError:
        return 0.0
    user, nice, system, _idle, _iowait, irq, softirq, steal = (f + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def own_cpu_s() -> float:
    """CPU seconds of this process and its reaped children."""
    c, s = resource.getrusage(resource.RUSAGE_CHILDREN), resource.getrusage(resource.RUSAGE_SELF)
    return c.ru_utime + c.ru_stime + s.ru_utime + s.ru_stime


def wait_idle(max_wait: float, threshold_pct: float = 10.0) -> float:
    """Wait (up to ``max_wait`` s) until the machine's CPU use over 2 s is below ``threshold_pct``; seconds waited."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < max_wait:
        b0 = busy_s()
        time.sleep(2)
        if 100 * (busy_s() - b0) / (2 * (os.cpu_count() or 1)) < threshold_pct:
            break
    return time.perf_counter() - t0


def loadavg() -> tuple[float, float, float]:
    try:
        return os.getloadavg()
    except OSError:
        return (float("nan"),) * 3


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


# ------------------------------------------------------------------------------------------ a whole command
class _Usage(NamedTuple):
    ru_maxrss: int
    ru_utime: float
    ru_stime: float


_PR_SET_CHILD_SUBREAPER = 36


def _subreaper() -> bool:
    """Make this process the one that orphaned descendants of a command are given to (Linux), so that they are
    measured too: trailtools's cold scans parse in workers of a multiprocessing fork server, a child of the command
    that reaps its workers (their peak then counts in its own ``wait4`` figures) and outlives it by a moment. Without
    this it would go to init, and ``wait4`` on the command would not see the workers at all."""
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        return False


def _reap_orphans() -> _Usage | None:
    """Wait for the descendants given to this process (the command's group was killed: they end at once; waited
    for at most ``ORPHANS_WAIT_S``): their largest peak and their CPU seconds, or None when there was none."""
    peak, user, system, any_ = 0, 0.0, 0.0, False
    deadline = time.monotonic() + ORPHANS_WAIT_S
    while True:
        try:
            pid, _, ru = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if not pid:
            if time.monotonic() > deadline:
                break
            time.sleep(0.01)
            continue
        any_ = True
        peak, user, system = max(peak, ru.ru_maxrss), user + ru.ru_utime, system + ru.ru_stime
    return _Usage(peak, user, system) if any_ else None


ORPHANS_WAIT_S = 5.0


def run_command(argv: list[str], *, env: dict | None = None, cwd: str | Path | None = None,
                timeout: float | None = None, mem_limit_mb: float | None = None, ok_codes=(0,)) -> dict:
    """Run ``argv`` as a whole process (its own process group, output to temporary files) and measure it.

    Returns ``wall_s``, ``cpu_s`` (user + system of the command and every descendant it waited for),
    ``peak_mb`` (the largest single process, exact: ``wait4``'s ``ru_maxrss``, the command's and those of the
    descendants it left behind, such as a fork server's workers: see :func:`_subreaper`; those alone:
    ``left_behind_mb``), ``tree_mb`` (the peak of the
    summed RSS of its process tree, sampled every 20 ms: an upper bound, shared pages count per process),
    ``other_cpu_pct`` (CPU used by other processes on the machine meanwhile, as a share of all cores), the load
    average before and after, ``returncode``, ``stderr_tail`` and ``killed`` (None, ``"timeout"`` or ``"memory"``:
    past ``timeout`` seconds or ``mem_limit_mb`` of summed RSS the whole group is killed, so a runaway run never
    makes a shared machine swap).
    """
    subreaper = _subreaper()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        load0, busy0, own0 = loadavg(), busy_s(), own_cpu_s()
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=cwd,
                                env={**os.environ, **(env or {})}, start_new_session=True)
        killed: list[str] = []

        def kill(reason: str) -> None:
            if not killed:
                killed.append(reason)
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass

        limit_kb = int(mem_limit_mb * 1024) if mem_limit_mb else None
        sampler = Sampler(proc.pid, limit_kb=limit_kb, on_limit=lambda: kill("memory"))
        sampler.start()
        timer = threading.Timer(timeout, kill, ("timeout",)) if timeout else None
        if timer:
            timer.start()
        try:
            _, status, ru = os.wait4(proc.pid, 0)
        finally:
            if timer:
                timer.cancel()
            sampler.done.set()
            sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        try:  # what the command left running in its group
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        orphans = _reap_orphans() if subreaper else None
        if orphans:  # a fork server and its workers outlive the command (see _subreaper)
            ru = _Usage(max(ru.ru_maxrss, orphans.ru_maxrss), ru.ru_utime + orphans.ru_utime,
                        ru.ru_stime + orphans.ru_stime)
        wall = time.perf_counter() - started
        foreign = max(0.0, (busy_s() - busy0) - (own_cpu_s() - own0))
        err.seek(0)
        tail = err.read()[-3000:].decode("utf-8", "replace")
    return {"wall_s": wall, "cpu_s": ru.ru_utime + ru.ru_stime, "peak_mb": ru.ru_maxrss / 1024,
            "left_behind_mb": orphans.ru_maxrss / 1024 if orphans else 0.0, "tree_mb": sampler.peak_kb / 1024,
            "largest_sampled_mb": sampler.largest_kb / 1024,
            "other_cpu_pct": 100 * foreign / (wall * (os.cpu_count() or 1)), "load_before": load0,
            "load_after": loadavg(), "returncode": proc.returncode, "killed": killed[0] if killed else None,
            "ok": not killed and proc.returncode in ok_codes, "stderr_tail": tail}
