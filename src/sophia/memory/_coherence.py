"""Keeping one process's in-process vector index and LRU cache in line with what other processes wrote.

The rows are shared; the NumPy index and the LRU are not. Every write moves the database's generation clock on
(`_changes.py`); `catch_up()` runs before each read and re-reads only the memories changed since this process's
generation. A process with a shared index (pgvector, Qdrant server) and a shared cache (Redis) has nothing to do.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncConnection

from sophia.memory._cache import LruRecallCache, RecallCache
from sophia.memory._changes import Changes, changes_since
from sophia.memory._embedding import Embedder
from sophia.memory._rows import vector_entries, vector_entries_of
from sophia.memory._vector import NumpyVectorIndex, VectorEntry, VectorIndex
from sophia.store import Database, storage_errors

log = logging.getLogger("sophia.memory")


class Coherence:
    database: Database
    embedder: Embedder
    vector: VectorIndex
    cache: RecallCache

    def _start_coherence(self) -> None:
        self.generation = 0
        """The newest write this process's index and cache are known to reflect."""
        self._sync_lock = asyncio.Lock()

    @property
    def _local_vectors(self) -> bool:
        return isinstance(self.vector, NumpyVectorIndex)

    @property
    def _local_cache(self) -> bool:
        return isinstance(self.cache, LruRecallCache)

    async def catch_up(self) -> int:
        """Apply the writes of other processes to this one's index and cache; return the generations skipped."""
        if not (self._local_vectors or self._local_cache):
            return 0
        with storage_errors(self.database.url):
            async with self._sync_lock:
                async with self.database.engine.connect() as conn:
                    changes = await changes_since(conn, self.generation)
                    if changes is None:
                        return 0
                    entries = await self._changed_entries(conn, changes)
                await self._apply(changes, entries)
                skipped = abs(changes.generation - self.generation)
                self.generation = changes.generation  # under the lock only catch-ups and our writes move it
        return skipped

    async def _changed_entries(self, conn: AsyncConnection, changes: Changes) -> list[VectorEntry]:
        if not self._local_vectors:
            return []
        model = self.embedder.model_id
        if changes.memory_ids is None:
            return (await vector_entries(conn, model))[0]
        return await vector_entries_of(conn, model, sorted(changes.memory_ids))

    async def _apply(self, changes: Changes, entries: list[VectorEntry]) -> None:
        if self._local_vectors:
            if changes.memory_ids is None:
                await self.vector.reset(entries)
            else:
                await self.vector.remove(sorted(changes.memory_ids - {e.id for e in entries}))
                await self.vector.add(entries)
        if self._local_cache:
            if changes.namespaces is None or changes.memory_ids is None:
                await self.cache.clear()
            else:
                await self.cache.invalidate(sorted(changes.namespaces), sorted(changes.memory_ids))
        log.debug("memory caught up to generation %d", changes.generation)

    async def _after_commit(self, generation: int, apply: Callable[[], Awaitable[None]]) -> None:
        """Apply a committed write of ours to the index and cache, and move our generation on if it is the next."""
        async with self._sync_lock:
            await apply()
            if generation == self.generation + 1:
                self.generation = generation
