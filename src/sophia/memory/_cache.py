"""L1: a hot cache of recent recall results and memories, dropped on any write to the namespaces they read.

The Protocol is async and keyed by strings so a Redis implementation (shared by replicas) fits the same calls.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from sophia.memory._model import Memory, RecallHit


@runtime_checkable
class RecallCache(Protocol):
    async def get_recall(self, key: str) -> list[RecallHit] | None: ...

    async def put_recall(self, key: str, namespaces: Sequence[str], hits: list[RecallHit]) -> None:
        """Cache `hits` for `key`, tagged with every namespace the recall read."""
        ...

    async def get_memory(self, memory_id: str) -> Memory | None: ...

    async def put_memory(self, memory: Memory) -> None: ...

    async def invalidate(self, namespaces: Sequence[str], memory_ids: Sequence[str] = ()) -> None:
        """Drop recalls that read any of `namespaces` and the cached copies of `memory_ids`."""
        ...

    async def clear(self) -> None: ...

    def __len__(self) -> int: ...


class LruRecallCache:
    """In-process LRU; each namespace keeps the set of recall keys that read it, for exact invalidation."""

    def __init__(self, max_entries: int = 1024) -> None:
        self.max_entries = max_entries
        self._recalls: OrderedDict[str, tuple[tuple[str, ...], list[RecallHit]]] = OrderedDict()
        self._memories: OrderedDict[str, Memory] = OrderedDict()
        self._by_namespace: dict[str, set[str]] = {}
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._recalls) + len(self._memories)

    async def get_recall(self, key: str) -> list[RecallHit] | None:
        entry = self._recalls.get(key)
        if entry is None:
            self.misses += 1
            return None
        self._recalls.move_to_end(key)
        self.hits += 1
        return list(entry[1])

    async def put_recall(self, key: str, namespaces: Sequence[str], hits: list[RecallHit]) -> None:
        self._drop_recall(key)
        self._recalls[key] = (tuple(namespaces), list(hits))
        for namespace in namespaces:
            self._by_namespace.setdefault(namespace, set()).add(key)
        while len(self._recalls) > self.max_entries:
            self._drop_recall(next(iter(self._recalls)))

    async def get_memory(self, memory_id: str) -> Memory | None:
        memory = self._memories.get(memory_id)
        if memory is not None:
            self._memories.move_to_end(memory_id)
        return memory

    async def put_memory(self, memory: Memory) -> None:
        self._memories[memory.id] = memory
        self._memories.move_to_end(memory.id)
        while len(self._memories) > self.max_entries:
            self._memories.popitem(last=False)

    async def invalidate(self, namespaces: Sequence[str], memory_ids: Sequence[str] = ()) -> None:
        for namespace in namespaces:
            for key in list(self._by_namespace.get(namespace, ())):
                self._drop_recall(key)
        for memory_id in memory_ids:
            self._memories.pop(memory_id, None)

    async def clear(self) -> None:
        self._recalls.clear()
        self._memories.clear()
        self._by_namespace.clear()

    def cached_memory_ids(self) -> set[str]:
        """Every memory id held in any form (tests use it to prove a hard forget left no copy)."""
        ids = set(self._memories)
        for _, hits in self._recalls.values():
            ids.update(hit.memory.id for hit in hits)
        return ids

    def _drop_recall(self, key: str) -> None:
        entry = self._recalls.pop(key, None)
        if entry is None:
            return
        for namespace in entry[0]:
            keys = self._by_namespace.get(namespace)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._by_namespace[namespace]
