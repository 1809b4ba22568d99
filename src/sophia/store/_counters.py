"""Expiring counters for rate limits and sign-in lockout: in-process by default, Redis when replicas share them."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

__all__ = ["CounterStore", "MemoryCounters", "RedisCounters", "open_counters"]


class CounterStore(Protocol):
    """Counters that expire `window` seconds after their first increment."""

    async def incr(self, key: str, window: float) -> tuple[int, float]:
        """Add one; return the new count and the seconds until the counter expires."""

    async def get(self, key: str) -> tuple[int, float]:
        """The count and seconds left, (0, 0) when absent."""

    async def delete(self, key: str) -> None: ...

    async def lease(self, key: str, holder: str, ttl: float) -> bool:
        """Hold `key` for `ttl` seconds (renewed while `holder` keeps asking); False while another holds it."""

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

    async def lease(self, key: str, holder: str, ttl: float) -> bool:
        return True  # one process: nobody else to hold it

    async def aclose(self) -> None:
        self._counts.clear()


# Take the lease when free, renew it when ours: one atomic step. KEYS: the lease; ARGV: holder, ttl ms.
_LEASE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
return 0
"""


class RedisCounters:
    """Counters in Redis (INCR + PEXPIRE NX in one round trip), shared by every replica."""

    def __init__(self, url: str, prefix: str = "sophia:") -> None:
        try:
            import redis.asyncio as aioredis
        except ImportError:  # pragma: no cover - depends on the install
            raise ImportError("Redis counters need the 'redis' extra: pip install 'sophia[redis]'") from None
        self._redis: Any = aioredis.from_url(url)
        self._prefix = prefix
        self._lease = self._redis.register_script(_LEASE)

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

    async def lease(self, key: str, holder: str, ttl: float) -> bool:
        held = await self._lease(keys=[self._prefix + key], args=[holder, max(1, int(ttl * 1000))])
        return bool(held)

    async def aclose(self) -> None:
        await self._redis.aclose()


def open_counters(redis_url: str | None, prefix: str = "sophia:") -> CounterStore:
    """Redis counters when a URL is set (replicas share them), else this process's own."""
    return RedisCounters(redis_url, prefix) if redis_url else MemoryCounters()
