"""A token bucket per account and region: requests are paced before they are sent, not retried after errors.

CloudTrail's LookupEvents allows 2 requests a second per account and region. :class:`TokenBucket` hands out
``rate`` tokens a second with at most ``capacity`` saved up; :meth:`TokenBucket.acquire` blocks until one is free.
When AWS throttles anyway (another tool using the same account), :meth:`TokenBucket.throttled` halves the rate
(adaptive, down to ``min_rate``) and empties the bucket; each success after that wins back a little of the rate.

    bucket = bucket_for(("AKIA...", "eu-west-1"))   # one bucket per key for the whole process
    bucket.acquire(); client.lookup_events(...)
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable


class TokenBucket:
    def __init__(self, rate: float = 2.0, capacity: float | None = None, *, min_rate: float = 0.1,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.max_rate = self.rate = float(rate)
        self.capacity = float(capacity if capacity is not None else rate)
        self.min_rate = min_rate
        self.clock, self.sleep = clock, sleep
        self.tokens = self.capacity
        self.updated = clock()
        self.waited = 0.0          # seconds spent waiting for tokens (for the stats)
        self.throttles = 0
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def acquire(self) -> None:
        """Take one token, waiting as long as needed for it."""
        while True:
            with self._lock:
                self._refill()
                if self.tokens >= 1:
                    self.tokens -= 1
                    return
                wait = (1 - self.tokens) / self.rate
            self.waited += wait
            self.sleep(wait)

    def throttled(self) -> None:
        """AWS said slow down: halve the rate and start from an empty bucket."""
        with self._lock:
            self.throttles += 1
            self.rate = max(self.min_rate, self.rate / 2)
            self.tokens = 0.0
            self.updated = self.clock()

    def succeeded(self) -> None:
        """A request went through: win back 10% of the rate lost, up to the maximum."""
        with self._lock:
            if self.rate < self.max_rate:
                self.rate = min(self.max_rate, self.rate + (self.max_rate - self.rate) * 0.1 + 0.01)


_BUCKETS: dict[Hashable, TokenBucket] = {}
_BUCKETS_LOCK = threading.Lock()


def bucket_for(key: Hashable, rate: float = 2.0) -> TokenBucket:
    """The process-wide bucket for ``key`` (for LookupEvents: the account or access key, and the region)."""
    with _BUCKETS_LOCK:
        if key not in _BUCKETS:
            _BUCKETS[key] = TokenBucket(rate)
        return _BUCKETS[key]
