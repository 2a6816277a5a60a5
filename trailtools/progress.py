"""A one-line progress bar on stderr, shown only when stderr is a terminal."""
from __future__ import annotations

import sys
import time

from trailtools.terminal import raw_stream


class Progress:
    def __init__(self, total: int, label: str = "files", stream=None, enabled: bool | None = None):
        self.total, self.label, self.done = total, label, 0
        # its own \r redraws the bar: written past the CLI's guard (the bar holds only numbers and a fixed label)
        self.stream = stream or raw_stream(sys.stderr)
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.started = self._last = time.monotonic()

    def __call__(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if self.enabled and (now - self._last > 0.2 or self.done >= self.total):
            self._last = now
            width = 30
            filled = int(width * self.done / max(self.total, 1))
            rate = self.done / max(now - self.started, 1e-6)
            self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done:,}/{self.total:,} "
                              f"{self.label} ({rate:,.0f}/s)")
            self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.done:
            self.stream.write("\r" + " " * 79 + "\r")
            self.stream.flush()
