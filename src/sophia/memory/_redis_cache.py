"""L1 in Redis, shared by replicas: recall results and memories as JSON, invalidated by namespace generations.

Each namespace has a generation counter; a cached recall stores the generations it was computed under and is
a miss as soon as any of them moved, so a write on one replica hides stale results on every replica at once.
Values are JSON (never pickle): a compromised Redis can at worst serve wrong hits, not run code.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sophia.memory._model import Memory, MemoryKind, RecallHit, RecallReasons

if TYPE_CHECKING:
    from redis.asyncio import Redis

_DATES = {f.name for f in fields(Memory) if "datetime" in str(f.type)}


def memory_to_json(memory: Memory) -> dict[str, Any]:
    data = asdict(memory)
    data["kind"] = memory.kind.value
    data["metadata"] = dict(memory.metadata)
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in data.items()}


def memory_from_json(data: dict[str, Any]) -> Memory:
    values: dict[str, Any] = {
        k: datetime.fromisoformat(v) if k in _DATES and v is not None else v for k, v in data.items()
    }
    values["kind"] = MemoryKind(values["kind"])
    return Memory(**values)


class RedisRecallCache:
    """`RecallCache` over redis-py asyncio; `ttl_seconds` bounds how long any entry can live."""

    def __init__(self, client: Redis, *, prefix: str = "sophia:memory", ttl_seconds: int = 300) -> None:
        self.client = client
        self.prefix = prefix
        self.ttl_seconds = ttl_seconds
        self._written = 0

    @classmethod
    def from_url(cls, url: str, **options: Any) -> RedisRecallCache:
        try:
            from redis.asyncio import Redis
        except ImportError as error:  # pragma: no cover - redis is a dependency of the server extra
            raise ImportError("RedisRecallCache needs the `redis` package: pip install redis") from error
        return cls(Redis.from_url(url), **options)

    def __len__(self) -> int:
        """Entries this process wrote (Redis holds the shared total; counting it would need a round trip)."""
        return self._written

    def _key(self, kind: str, name: str) -> str:
        return f"{self.prefix}:{kind}:{name}"

    def _recall_key(self, key: str) -> str:
        return self._key("recall", hashlib.sha256(key.encode()).hexdigest())

    async def _generations(self, namespaces: Sequence[str]) -> list[int]:
        if not namespaces:
            return []
        values = await self.client.mget([self._key("gen", ns) for ns in namespaces])
        return [int(v or 0) for v in values]

    async def get_recall(self, key: str) -> list[RecallHit] | None:
        raw = await self.client.get(self._recall_key(key))
        if raw is None:
            return None
        entry = json.loads(raw)
        if await self._generations(entry["namespaces"]) != entry["generations"]:
            return None
        return [
            RecallHit(memory_from_json(h["memory"]), float(h["score"]), RecallReasons(**h["reasons"]))
            for h in entry["hits"]
        ]

    async def put_recall(self, key: str, namespaces: Sequence[str], hits: list[RecallHit]) -> None:
        entry = {
            "namespaces": list(namespaces),
            "generations": await self._generations(namespaces),
            "hits": [
                {"memory": memory_to_json(h.memory), "score": h.score, "reasons": asdict(h.reasons)}
                for h in hits
            ],
        }
        await self.client.set(self._recall_key(key), json.dumps(entry), ex=self.ttl_seconds)
        self._written += 1

    async def get_memory(self, memory_id: str) -> Memory | None:
        raw = await self.client.get(self._key("memory", memory_id))
        return None if raw is None else memory_from_json(json.loads(raw))

    async def put_memory(self, memory: Memory) -> None:
        await self.client.set(
            self._key("memory", memory.id), json.dumps(memory_to_json(memory)), ex=self.ttl_seconds
        )
        self._written += 1

    async def invalidate(self, namespaces: Sequence[str], memory_ids: Sequence[str] = ()) -> None:
        async with self.client.pipeline(transaction=True) as pipe:
            for namespace in namespaces:
                pipe.incr(self._key("gen", namespace))
            if memory_ids:
                pipe.delete(*[self._key("memory", i) for i in memory_ids])
            await pipe.execute()

    async def clear(self) -> None:
        """Drop every cached recall and memory (generations stay, so they only ever grow)."""
        for kind in ("recall", "memory"):
            batch: list[Any] = []
            async for name in self.client.scan_iter(match=self._key(kind, "*"), count=500):
                batch.append(name)
                if len(batch) >= 500:
                    await self.client.delete(*batch)
                    batch = []
            if batch:
                await self.client.delete(*batch)
        self._written = 0

    async def aclose(self) -> None:
        await self.client.aclose()
