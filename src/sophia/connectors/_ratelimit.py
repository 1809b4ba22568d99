"""Client-side pacing that follows what the service says: Retry-After and the X-RateLimit-* headers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["RateGate", "RateState"]

_EPOCH_MS = 1e12
_EPOCH_S = 1e9


@dataclass(frozen=True, slots=True)
class RateState:
    """What the service last said about its limit, for `sophia connectors list` and the dashboard."""

    limit: int | None
    remaining: int | None
    reset_in: float | None
    blocked_for: float

    def to_record(self) -> dict[str, Any]:
        return {
            "limit": self.limit,
            "remaining": self.remaining,
            "reset_in": None if self.reset_in is None else round(self.reset_in, 1),
            "blocked_for": round(self.blocked_for, 1),
        }


def _header_int(headers: Mapping[str, str], *names: str) -> int | None:
    for name in names:
        value = headers.get(name)
        if value is not None:
            try:
                return int(float(value))
            except ValueError:
                return None
    return None


def reset_delay(value: str | None, now_epoch: float) -> float | None:
    """A reset header as seconds from now: an epoch in ms or s (GitHub, Linear), or a delta in seconds."""
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    if number > _EPOCH_MS:
        return max(0.0, number / 1000 - now_epoch)
    if number > _EPOCH_S:
        return max(0.0, number - now_epoch)
    return max(0.0, number)


_BUDGETS = (
    ("x-ratelimit-", "ratelimit-"),
    ("x-ratelimit-requests-",),  # Linear: requests per hour
    ("x-ratelimit-complexity-",),  # Linear: query complexity points per hour
)


def _tightest(headers: Mapping[str, str], now_epoch: float) -> tuple[int | None, int | None, float | None]:
    """(limit, remaining, reset) of the budget closest to running out, when a service reports several."""
    found: list[tuple[int | None, int, float | None]] = []
    for prefixes in _BUDGETS:
        remaining = _header_int(headers, *(p + "remaining" for p in prefixes))
        if remaining is None:
            continue
        limit = _header_int(headers, *(p + "limit" for p in prefixes))
        raw = next((headers[p + "reset"] for p in prefixes if p + "reset" in headers), None)
        found.append((limit, remaining, reset_delay(raw, now_epoch)))
    if not found:
        reset = reset_delay(headers.get("x-ratelimit-reset") or headers.get("ratelimit-reset"), now_epoch)
        return _header_int(headers, "x-ratelimit-limit", "ratelimit-limit"), None, reset
    return min(found, key=lambda budget: budget[1])


class RateGate:
    """Waits before a request when the service asked for it, or to keep a configured pace.

    A wait longer than `max_wait` is not taken: `wait()` returns it so the caller fails fast with a rate-limit
    error an agent can read, instead of hanging a run for an hour.
    """

    def __init__(
        self,
        *,
        requests_per_second: float | None = None,
        max_wait: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._interval = 1.0 / requests_per_second if requests_per_second else 0.0
        self.max_wait = max_wait
        self._clock, self._wall, self._sleep = clock, wall, sleep
        self._next_slot = 0.0
        self._blocked_until = 0.0
        self._limit: int | None = None
        self._remaining: int | None = None
        self._reset_at: float | None = None
        self._lock = asyncio.Lock()

    async def wait(self) -> float:
        """Sleep until a request may go; returns 0, or the too-long wait that was refused."""
        async with self._lock:
            now = self._clock()
            ready = max(self._next_slot, self._blocked_until)
            delay = max(0.0, ready - now)
            if delay > self.max_wait:
                return delay
            self._next_slot = max(now, ready) + self._interval
        if delay > 0:
            await self._sleep(delay)
        return 0.0

    def observe(self, headers: Mapping[str, str], retry_after: float | None) -> None:
        """Learn from a response: a Retry-After blocks; remaining 0 blocks until the reset."""
        now = self._clock()
        limit, remaining, reset = _tightest(headers, self._wall())
        self._limit = limit or self._limit
        if remaining is not None:
            self._remaining = remaining
        if reset is not None:
            self._reset_at = now + reset
        if retry_after is not None:
            self._blocked_until = max(self._blocked_until, now + retry_after)
        elif remaining == 0 and reset is not None:
            self._blocked_until = max(self._blocked_until, now + reset)

    def state(self) -> RateState:
        now = self._clock()
        reset_in = None if self._reset_at is None else max(0.0, self._reset_at - now)
        return RateState(self._limit, self._remaining, reset_in, max(0.0, self._blocked_until - now))
