"""Counters for rate limits and sign-in lockout: in-process by default, Redis when replicas must share them."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any, Protocol

from sophia.errors import SophiaError

__all__ = ["CounterStore", "LoginThrottle", "MemoryCounters", "RateLimited", "RateLimiter", "RedisCounters"]


class RateLimited(SophiaError):
    code = "rate_limited"
    http_status = 429

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class CounterStore(Protocol):
    """Counters that expire `window` seconds after their first increment."""

    async def incr(self, key: str, window: float) -> tuple[int, float]:
        """Add one; return the new count and the seconds until the counter expires."""

    async def get(self, key: str) -> tuple[int, float]:
        """The count and seconds left, (0, 0) when absent."""

    async def delete(self, key: str) -> None: ...

    async def aclose(self) -> None: ...


class MemoryCounters:
    """One process's counters; expired entries are dropped as they are met and in bulk when the map grows."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, max_entries: int = 100_000) -> None:
        self._clock = clock
        self._max = max_entries
        self._counts: dict[str, tuple[int, float]] = {}

    async def incr(self, key: str, window: float) -> tuple[int, float]:
        now = self._clock()
        count, expires = self._counts.get(key, (0, 0.0))
        if expires <= now:
            if len(self._counts) >= self._max:
                self._counts = {k: v for k, v in self._counts.items() if v[1] > now}
            count, expires = 0, now + window
        self._counts[key] = (count + 1, expires)
        return count + 1, expires - now

    async def get(self, key: str) -> tuple[int, float]:
        now = self._clock()
        count, expires = self._counts.get(key, (0, 0.0))
        return (count, expires - now) if expires > now else (0, 0.0)

    async def delete(self, key: str) -> None:
        self._counts.pop(key, None)

    async def aclose(self) -> None:
        self._counts.clear()


class RedisCounters:
    """Counters in Redis (INCR + PEXPIRE NX in one round trip), shared by every replica."""

    def __init__(self, url: str, prefix: str = "sophia:") -> None:
        try:
            import redis.asyncio as aioredis
        except ImportError:  # pragma: no cover - depends on the install
            raise ImportError("Redis counters need the 'redis' extra: pip install 'sophia[redis]'") from None
        self._redis: Any = aioredis.from_url(url)
        self._prefix = prefix

    async def incr(self, key: str, window: float) -> tuple[int, float]:
        name = self._prefix + key
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(name)
            pipe.pexpire(name, max(1, int(window * 1000)), nx=True)
            pipe.pttl(name)
            count, _, ttl_ms = await pipe.execute()
        return int(count), max(0.0, int(ttl_ms) / 1000)

    async def get(self, key: str) -> tuple[int, float]:
        name = self._prefix + key
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.get(name)
            pipe.pttl(name)
            value, ttl_ms = await pipe.execute()
        return (int(value), max(0.0, int(ttl_ms) / 1000)) if value is not None else (0, 0.0)

    async def delete(self, key: str) -> None:
        await self._redis.delete(self._prefix + key)

    async def aclose(self) -> None:
        await self._redis.aclose()


class RateLimiter:
    """Fixed one-minute windows per key and per user."""

    def __init__(self, counters: CounterStore) -> None:
        self._counters = counters

    async def check(self, kind: str, ident: str, per_minute: int) -> None:
        if per_minute <= 0:
            return
        count, ttl = await self._counters.incr(f"rl:{kind}:{ident}", 60.0)
        if count > per_minute:
            raise RateLimited(
                f"more than {per_minute} requests a minute for this {kind}; wait {math.ceil(ttl)} s or ask an "
                "admin to raise SOPHIA_WEB__REQUESTS_PER_MINUTE_" + kind.upper(),
                retry_after=ttl,
            )


class LoginThrottle:
    """Locks sign-in for a user name or an address after too many failures; a success clears the user's count."""

    def __init__(
        self, counters: CounterStore, user_failures: int, ip_failures: int, lockout_seconds: float
    ) -> None:
        self._counters = counters
        self._user_limit = user_failures
        self._ip_limit = ip_failures
        self._lockout = lockout_seconds

    async def check(self, user: str, ip: str) -> None:
        """Raise RateLimited while either the user or the address is locked out."""
        for key, limit in (
            (f"login:user:{user.lower()}", self._user_limit),
            (f"login:ip:{ip}", self._ip_limit),
        ):
            count, ttl = await self._counters.get(key)
            if count >= limit:
                raise RateLimited(
                    f"too many failed sign-ins; try again in {math.ceil(ttl / 60)} minute(s)", retry_after=ttl
                )

    async def failed(self, user: str, ip: str) -> None:
        await self._counters.incr(f"login:user:{user.lower()}", self._lockout)
        await self._counters.incr(f"login:ip:{ip}", self._lockout)

    async def succeeded(self, user: str) -> None:
        await self._counters.delete(f"login:user:{user.lower()}")
