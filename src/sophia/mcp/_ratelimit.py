"""A token bucket per API key: `burst` requests at once, refilled at `per_minute`; in-process only."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable

__all__ = ["KeyRateLimiter"]

_MAX_KEYS = 10_000


class KeyRateLimiter:
    """`check(key)` is None when the request may go, else the seconds to wait before the next one."""

    def __init__(self, per_minute: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self._clock = clock
        self._buckets: dict[Hashable, tuple[float, float]] = {}

    def check(self, key: Hashable) -> float | None:
        now = self._clock()
        tokens, last = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate
        if len(self._buckets) >= _MAX_KEYS and key not in self._buckets:
            self._buckets.clear()
        self._buckets[key] = (tokens - 1.0, now)
        return None
