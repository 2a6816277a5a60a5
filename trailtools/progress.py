"""A one-line progress bar on stderr (tqdm), shown only when stderr is a terminal."""
from __future__ import annotations

import os
import sys

from tqdm import tqdm

from trailtools.terminal import raw_stream


class _Bar(tqdm):
    # no monitor thread: the bar lives in the process that forks the parsing workers (events/parallel.py), and a
    # thread running while a process forks can leave the child a lock that no one will release
    monitor_interval = 0


def _isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def _width(stream) -> int:
    """The terminal's width, at most 100; 80 where it does not say (a fresh pty says 0: tqdm would draw nothing)."""
    try:
        columns = os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, ValueError, OSError):
        columns = 0
    return min(columns, 100) if columns > 0 else 80


class Progress:
    """``Progress(total, label)``; ``bar(n)`` after each ``n`` done; ``bar.close()`` clears the line."""

    def __init__(self, total: int, label: str = "files", stream=None, enabled: bool | None = None):
        self.total, self.label, self.done = total, label, 0
        # tqdm's own \r redraws the bar: written past the CLI's guard (the bar holds only numbers and a fixed label)
        self.stream = stream or raw_stream(sys.stderr)
        self.enabled = _isatty(self.stream) if enabled is None else enabled
        self._bar = _Bar(total=total, unit=f" {label}", file=self.stream, disable=not self.enabled, leave=False,
                         mininterval=0.2, ncols=_width(self.stream) if self.enabled else None)

    def __call__(self, n: int) -> None:
        self.done += n
        self._bar.update(n)

    def close(self) -> None:
        self._bar.close()
