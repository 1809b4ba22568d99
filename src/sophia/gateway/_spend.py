"""Spend per budget period with reservations, in one process or shared by every replica through Redis.

A request is admitted only while `spent + reserved < limit` for every budget that applies, and admitting it
reserves its cost estimate (an upper bound: the prompt's size and the most output it may produce), atomically. When it
ends, its reservation is replaced by what it really cost. So however many requests run at once on however many
replicas, the spend passes a limit by at most the one request admitted last; a reservation whose request never
settles (a crashed replica) expires after `RESERVATION_TTL_SECONDS`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["MemorySpend", "RedisSpend", "SpendKey", "SpendStore", "open_spend"]

RESERVATION_TTL_SECONDS = 600.0


@dataclass(frozen=True, slots=True)
class SpendKey:
    """One budget's counter in one period: `name` is stable across replicas, `limit_usd` what admission checks."""

    name: str
    limit_usd: float
    ttl_seconds: float
    """How long the counter must live: to the period's end and a day more."""
    origin: Any = field(default=None, compare=False)
    """What the owner needs to seed the counter from its ledger (the budget's scope, id and period start)."""


Seed = Callable[[SpendKey], Awaitable[float]]
"""What the ledger says was spent in the key's period: a missing counter (first use, Redis flushed) starts there."""


class SpendStore(Protocol):
    async def admit(self, request_id: str, keys: Sequence[SpendKey], estimate_usd: float, seed: Seed) -> int:
        """Reserve `estimate_usd` on every key and return -1, or the index of the first key already used up."""

    def settle(self, request_id: str, keys: Sequence[SpendKey], cost_usd: float) -> None:
        """Drop the request's reservation and add its real cost (a shared store does it in the background)."""

    async def spent(self, key: SpendKey, seed: Seed) -> float: ...

    async def aclose(self) -> None: ...


@dataclass(slots=True)
class _Counter:
    spent: float
    expires: float
    reservations: dict[str, tuple[float, float]] = field(default_factory=dict)
    """request id -> (estimate, monotonic expiry)"""

    def reserved(self, now: float) -> float:
        for request_id in [r for r, (_, until) in self.reservations.items() if until <= now]:
            del self.reservations[request_id]
        return sum(estimate for estimate, _ in self.reservations.values())


class MemorySpend:
    """One process's counters: exact for a single replica; `refresh` re-reads spend from the ledger so replicas
    that share only a database (no Redis) follow each other's spend within that many seconds."""

    def __init__(self, refresh: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._refresh = refresh
        self._clock = clock
        self._counters: dict[str, _Counter] = {}
        self._seeded_at: dict[str, float] = {}

    async def _counter(self, key: SpendKey, seed: Seed) -> _Counter:
        now = self._clock()
        counter = self._counters.get(key.name)
        if counter is None or counter.expires <= now or now - self._seeded_at[key.name] >= self._refresh:
            spent = await seed(key)
            counter = self._counters.get(key.name)  # another request may have seeded it meanwhile
            if counter is None or counter.expires <= now:
                counter = self._counters[key.name] = _Counter(spent, now + key.ttl_seconds)
            else:
                counter.spent = max(counter.spent, spent)
            self._seeded_at[key.name] = now
        return counter

    async def admit(self, request_id: str, keys: Sequence[SpendKey], estimate_usd: float, seed: Seed) -> int:
        counters = [await self._counter(key, seed) for key in keys]
        now = self._clock()  # no await from here on: the check and the reservation are one step
        for index, (key, counter) in enumerate(zip(keys, counters, strict=True)):
            if counter.spent + counter.reserved(now) >= key.limit_usd:
                return index
        for counter in counters:
            counter.reservations[request_id] = (estimate_usd, now + RESERVATION_TTL_SECONDS)
        return -1

    def settle(self, request_id: str, keys: Sequence[SpendKey], cost_usd: float) -> None:
        for key in keys:
            counter = self._counters.get(key.name)
            if counter is not None:
                counter.reservations.pop(request_id, None)
                counter.spent += cost_usd

    async def spent(self, key: SpendKey, seed: Seed) -> float:
        return (await self._counter(key, seed)).spent

    async def aclose(self) -> None:
        self._counters.clear()


# KEYS: per budget a hash (field "spent") and a sorted set of reservations (member "request_id", score = expiry ms).
# ARGV: now_ms, request_id, estimate, expiry_ms, then one limit per budget.
_ADMIT = """
local n = #KEYS / 2
for i = 1, n do
  local hash, held = KEYS[2 * i - 1], KEYS[2 * i]
  for _, gone in ipairs(redis.call('ZRANGEBYSCORE', held, '-inf', ARGV[1])) do
    redis.call('HDEL', hash, 'r:' .. gone)
  end
  redis.call('ZREMRANGEBYSCORE', held, '-inf', ARGV[1])
  local reserved = 0
  for _, member in ipairs(redis.call('ZRANGE', held, 0, -1)) do
    reserved = reserved + tonumber(redis.call('HGET', hash, 'r:' .. member) or '0')
  end
  local spent = tonumber(redis.call('HGET', hash, 'spent') or '0')
  if spent + reserved >= tonumber(ARGV[4 + i]) then return i - 1 end
end
for i = 1, n do
  redis.call('ZADD', KEYS[2 * i], ARGV[4], ARGV[2])
  redis.call('HSET', KEYS[2 * i - 1], 'r:' .. ARGV[2], ARGV[3])
end
return -1
"""

# KEYS as for _ADMIT; ARGV: request_id, cost.
_SETTLE = """
for i = 1, #KEYS / 2 do
  redis.call('ZREM', KEYS[2 * i], ARGV[1])
  redis.call('HDEL', KEYS[2 * i - 1], 'r:' .. ARGV[1])
  if redis.call('EXISTS', KEYS[2 * i - 1]) == 1 then
    redis.call('HINCRBYFLOAT', KEYS[2 * i - 1], 'spent', ARGV[2])
  end
end
return 0
"""


class RedisSpend:
    """Counters every replica shares: admission and settlement are Lua scripts, so each is atomic in Redis.

    A counter lives until its period's end and a day more; a missing one is seeded from the ledger (HSETNX, so two
    replicas seeding at once agree). One round trip per admitted request and one per settlement.
    """

    def __init__(self, url: str, prefix: str = "sophia:") -> None:
        try:
            import redis.asyncio as aioredis
        except ImportError:  # pragma: no cover - depends on the install
            raise ImportError("shared budgets need the 'redis' extra: pip install 'sophia[redis]'") from None
        self._redis: Any = aioredis.from_url(url)
        self._prefix = prefix + "spend:"
        self._admit = self._redis.register_script(_ADMIT)
        self._settle = self._redis.register_script(_SETTLE)
        self._settling: set[asyncio.Task[Any]] = set()

    def _names(self, keys: Sequence[SpendKey]) -> list[str]:
        return [name for key in keys for name in (self._prefix + key.name, self._prefix + key.name + ":held")]

    async def _seed(self, keys: Sequence[SpendKey], seed: Seed) -> None:
        exists = await self._redis.exists(*[self._prefix + key.name for key in keys]) if keys else 0
        if exists == len(keys):
            return
        for key in keys:
            name = self._prefix + key.name
            if not await self._redis.exists(name):
                spent = await seed(key)
                async with self._redis.pipeline(transaction=True) as pipe:
                    pipe.hsetnx(name, "spent", repr(spent))
                    pipe.expire(name, int(key.ttl_seconds))
                    pipe.expire(name + ":held", int(key.ttl_seconds))
                    await pipe.execute()

    async def admit(self, request_id: str, keys: Sequence[SpendKey], estimate_usd: float, seed: Seed) -> int:
        await self._seed(keys, seed)
        now_ms = int(time.time() * 1000)
        expiry_ms = now_ms + int(RESERVATION_TTL_SECONDS * 1000)
        args: list[str | int] = [now_ms, request_id, repr(estimate_usd), expiry_ms]
        args += [repr(key.limit_usd) for key in keys]
        return int(await self._admit(keys=self._names(keys), args=args))

    def settle(self, request_id: str, keys: Sequence[SpendKey], cost_usd: float) -> None:
        """In the background: the reservation stays counted until Redis has the real cost, which errs on the safe
        side; `aclose` waits for settlements in flight."""
        task = asyncio.get_running_loop().create_task(
            self._settle(keys=self._names(keys), args=[request_id, repr(cost_usd)])
        )
        self._settling.add(task)
        task.add_done_callback(self._settling.discard)

    async def spent(self, key: SpendKey, seed: Seed) -> float:
        await self._seed([key], seed)
        value = await self._redis.hget(self._prefix + key.name, "spent")
        return float(value or 0.0)

    async def aclose(self) -> None:
        if self._settling:
            await asyncio.gather(*self._settling, return_exceptions=True)
        await self._redis.aclose()


def open_spend(redis_url: str | None, prefix: str = "sophia:", *, refresh: float = 10.0) -> SpendStore:
    """Shared counters when replicas have a Redis, else this process's own."""
    return RedisSpend(redis_url, prefix) if redis_url else MemorySpend(refresh)
