"""The service's slow paths: start-up repair, reindex, forget, consolidate, export, stats, close.

Kept apart from `_service.py` so the request path reads in one screen; `MemoryService` inherits these.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from sophia.memory._cache import RecallCache
from sophia.memory._changes import current_generation, prune_changes, record_change
from sophia.memory._coherence import Coherence
from sophia.memory._embedding import Embedder
from sophia.memory._errors import InvalidMemory, MemoryNotFound
from sophia.memory._graph import forget_sources
from sophia.memory._keyword import KeywordIndex
from sophia.memory._model import (
    Memory,
    MemoryKind,
    MemorySettings,
    MemoryStats,
    check_filters,
    check_kinds,
    check_namespaces,
    matches_filters,
    now_utc,
)
from sophia.memory._rows import close_rows, delete_rows, fetch_memories, vector_entries, version_chain
from sophia.memory._schema import (
    CHUNK,
    MEMORY_COLUMNS,
    memories,
    row_to_memory,
    vector_bytes,
    vector_from_bytes,
)
from sophia.memory._vector import NumpyVectorIndex, VectorIndex
from sophia.store import Database, storage_errors

log = logging.getLogger("sophia.memory")
_EMBED_BATCH = 256


@dataclass(frozen=True)
class StartReport:
    reembedded: int
    vectors_repaired: int
    keyword_rebuilt: bool


@dataclass(frozen=True)
class ConsolidationReport:
    expired: int
    merged: int
    decayed: int
    expired_ids: tuple[str, ...] = ()
    merged_ids: tuple[str, ...] = ()


class Maintenance(Coherence):
    database: Database
    embedder: Embedder
    settings: MemorySettings
    vector: VectorIndex
    keyword: KeywordIndex
    cache: RecallCache
    _pending_access: dict[str, int]
    resources: list[Any]

    def _embed_text(self, memory: Any) -> str:
        raise NotImplementedError

    async def start(self) -> StartReport:
        """Re-embed rows of another model, then make the vector and keyword indexes agree with the rows."""
        with storage_errors(self.database.url):
            async with self.database.engine.connect() as conn:
                self.generation = await current_generation(conn)  # what the rows read next reflect at least
            reembedded = await self._reembed(full=False)
            repaired = await self._sync_vectors(trust_snapshot=reembedded == 0)
            async with self.database.engine.begin() as conn:
                rows = (await conn.execute(sa.select(sa.func.count()).select_from(memories))).scalar_one()
                rebuild = await self.keyword.count(conn) != rows
                if rebuild:
                    await self.keyword.rebuild(conn)
        if reembedded or repaired or rebuild:
            log.warning(
                "memory indexes repaired on start: %d re-embedded, %d vectors restored, keyword rebuilt=%s",
                reembedded,
                repaired,
                rebuild,
            )
        return StartReport(reembedded, repaired, rebuild)

    async def reindex(self, *, reembed: bool = False) -> StartReport:
        """Rebuild L2 (vectors and full text) from L3; `reembed=True` also recomputes every vector."""
        with storage_errors(self.database.url):
            reembedded = await self._reembed(full=reembed)
            repaired = await self._sync_vectors(trust_snapshot=False)
            async with self.database.engine.begin() as conn:
                await self.keyword.rebuild(conn)
        await self.cache.clear()
        return StartReport(reembedded, repaired, True)

    async def _reembed(self, *, full: bool) -> int:
        """Recompute vectors for rows of another model (or all rows), in batches, off the event loop."""
        model = self.embedder.model_id
        where = (
            sa.true() if full else sa.or_(memories.c.embedding_model != model, memories.c.embedding.is_(None))
        )
        async with self.database.engine.connect() as conn:
            ids = (await conn.execute(sa.select(memories.c.id).where(where))).scalars().all()
        for start in range(0, len(ids), _EMBED_BATCH):
            async with self.database.engine.begin() as conn:
                found = await fetch_memories(conn, ids[start : start + _EMBED_BATCH])
                batch = list(found.values())
                vectors = await asyncio.to_thread(self.embedder.embed, [self._embed_text(m) for m in batch])
                await conn.execute(
                    sa.update(memories)
                    .where(memories.c.id == sa.bindparam("b_id"))
                    .values(embedding=sa.bindparam("b_vec"), embedding_model=model),
                    [{"b_id": m.id, "b_vec": vector_bytes(v)} for m, v in zip(batch, vectors, strict=True)],
                )
        if ids:  # every other process rebuilds its index from the new vectors
            async with self.database.engine.begin() as conn:
                await record_change(conn, None, None, now_utc())
        return len(ids)

    async def _sync_vectors(self, *, trust_snapshot: bool) -> int:
        if not isinstance(self.vector, NumpyVectorIndex):
            return await self._sync_server_vectors(force=not trust_snapshot)
        snapshot = self.vector.load_snapshot() if trust_snapshot else {}
        async with self.database.engine.connect() as conn:
            entries, from_rows = await vector_entries(conn, self.embedder.model_id, snapshot)
        await self.vector.reset(entries)
        stale = len(set(snapshot) - {e.id for e in entries})
        if from_rows or stale or not trust_snapshot:
            await asyncio.to_thread(self.vector.save)
        return from_rows + stale if trust_snapshot else 0

    async def _sync_server_vectors(self, *, force: bool) -> int:
        """A server index (pgvector, Qdrant) persists itself; it is rebuilt from the rows only when its size
        disagrees with them (a crash between the row commit and the index write) or on reindex."""
        async with self.database.engine.connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(sa.func.count())
                    .select_from(memories)
                    .where(memories.c.embedding_model == self.embedder.model_id)
                )
            ).scalar_one()
            if not force and rows == len(self.vector):
                return 0
            entries, _ = await vector_entries(conn, self.embedder.model_id)
        await self.vector.reset(entries)
        return len(entries) if not force else 0

    async def forget(
        self,
        memory_id: str | None = None,
        *,
        namespaces: Sequence[str] | str,
        kinds: Sequence[str | MemoryKind] | None = None,
        filters: Mapping[str, Any] | None = None,
        hard: bool = False,
    ) -> int:
        """Soft: close validity (`as_of` still sees it). Hard: remove rows, all versions, vectors, cache."""
        allowed = check_namespaces(namespaces)
        checked_kinds, checked = check_kinds(kinds), check_filters(filters)
        if memory_id is None and not checked and checked_kinds is None:
            raise InvalidMemory(
                "forget needs a memory id, kinds or filters; refusing to forget a whole namespace"
            )
        with storage_errors(self.database.url):
            async with self.database.engine.begin() as conn:
                ids = await self._forget_targets(conn, memory_id, allowed, checked_kinds, checked)
                if hard:
                    ids = sorted({v for i in ids for v in await version_chain(conn, i)})
                    await self.keyword.remove(conn, ids)
                    await delete_rows(conn, ids)
                    await forget_sources(conn, ids, None)
                else:
                    ids = await close_rows(conn, ids, now_utc())
                    await forget_sources(conn, ids, now_utc())
                generation = await record_change(conn, allowed, ids, now_utc())

        async def apply() -> None:
            if hard:
                await self.vector.remove(ids)
            else:
                await self.vector.close_validity(ids, now_utc())
            await self.cache.invalidate(allowed, ids)

        await self._after_commit(generation, apply)
        return len(ids)

    async def _forget_targets(
        self,
        conn: AsyncConnection,
        memory_id: str | None,
        allowed: tuple[str, ...],
        kinds: tuple[MemoryKind, ...] | None,
        filters: Mapping[str, Any],
    ) -> list[str]:
        stmt = sa.select(*MEMORY_COLUMNS).where(memories.c.namespace.in_(allowed))
        if memory_id is not None:
            stmt = stmt.where(memories.c.id == memory_id)
        if kinds is not None:
            stmt = stmt.where(memories.c.kind.in_([k.value for k in kinds]))
        found = [row_to_memory(r) for r in (await conn.execute(stmt)).mappings()]
        if memory_id is not None and not found:
            raise MemoryNotFound(f"no memory {memory_id[:40]!r} in the namespaces you may read")
        return [m.id for m in found if matches_filters(m, filters)]

    async def consolidate(self, *, namespaces: Sequence[str] | None = None) -> ConsolidationReport:
        """The forgetting mechanism: drop expired memories, merge near-duplicates, decay unused importance."""
        scope = check_namespaces(namespaces) if namespaces is not None else None
        now = now_utc()
        with storage_errors(self.database.url):
            async with self.database.engine.begin() as conn:
                await self._flush_access(conn)
                expired_q = sa.select(memories.c.id).where(memories.c.expires_at <= now)
                if scope is not None:
                    expired_q = expired_q.where(memories.c.namespace.in_(scope))
                expired = list((await conn.execute(expired_q)).scalars().all())
                await self.keyword.remove(conn, expired)
                await delete_rows(conn, expired)
                await forget_sources(conn, expired, None)
                merged, _ = await self._merge_duplicates(conn, scope)
                decayed = await self._decay(conn, scope)
                await prune_changes(conn, now)
                changed = bool(expired or merged or decayed)
                # a decay moves scores anywhere in scope, so every recall cached over the scope is dropped
                generation = await record_change(conn, scope, [*expired, *merged], now) if changed else 0

        async def apply() -> None:
            await self.vector.remove(expired)
            await self.vector.close_validity(merged, now)
            await self.cache.clear()

        if changed:
            await self._after_commit(generation, apply)
        return ConsolidationReport(len(expired), len(merged), decayed, tuple(expired), tuple(merged))

    async def _merge_duplicates(
        self, conn: AsyncConnection, scope: tuple[str, ...] | None
    ) -> tuple[list[str], set[str]]:
        """Within a namespace and kind, a current memory whose vector is within the threshold of a more
        important (or older) one is closed and folded into it. Conversation turns are never merged."""
        cols = [memories.c[n] for n in ("id", "namespace", "kind", "importance", "access_count", "embedding")]
        stmt = (
            sa.select(*cols)
            .where(
                memories.c.valid_until.is_(None),
                memories.c.kind != MemoryKind.CONVERSATION.value,
                memories.c.embedding_model == self.embedder.model_id,
            )
            .order_by(memories.c.importance.desc(), memories.c.created_at)
        )
        if scope is not None:
            stmt = stmt.where(memories.c.namespace.in_(scope))
        groups: dict[tuple[str, str], list[Any]] = defaultdict(list)
        for row in (await conn.execute(stmt)).all():
            groups[(row[1], row[2])].append(row)
        merged: list[str] = []
        touched: set[str] = set()
        now = now_utc()
        for (namespace, _), rows in groups.items():
            pairs = _duplicates(rows, self.settings.duplicate_threshold)
            for keeper, dup in pairs:
                await conn.execute(
                    sa.update(memories)
                    .where(memories.c.id == keeper[0])
                    .values(
                        importance=sa.func.max(memories.c.importance, dup[3])
                        if conn.dialect.name == "sqlite"
                        else sa.func.greatest(memories.c.importance, dup[3]),
                        access_count=memories.c.access_count + dup[4],
                    )
                )
                await conn.execute(sa.update(memories).where(memories.c.id == dup[0]).values(valid_until=now))
                merged.append(dup[0])
                touched.add(namespace)
        return merged, touched

    async def _decay(self, conn: AsyncConnection, scope: tuple[str, ...] | None) -> int:
        cutoff = now_utc() - timedelta(days=self.settings.decay_after_days)
        floor = self.settings.min_importance
        last_use = sa.func.coalesce(memories.c.last_accessed_at, memories.c.created_at)
        stmt = (
            sa.update(memories)
            .where(memories.c.valid_until.is_(None), last_use < cutoff, memories.c.importance > floor)
            .values(
                importance=sa.case(
                    (memories.c.importance * self.settings.decay_factor < floor, floor),
                    else_=memories.c.importance * self.settings.decay_factor,
                )
            )
        )
        if scope is not None:
            stmt = stmt.where(memories.c.namespace.in_(scope))
        return int((await conn.execute(stmt)).rowcount or 0)

    async def _flush_access(self, conn: AsyncConnection) -> None:
        """Recall counts uses in memory and writes them with the next write, so reads never wait."""
        if not self._pending_access:
            return
        pending, self._pending_access = self._pending_access, {}
        now = now_utc()
        items = sorted(pending.items())
        for start in range(0, len(items), CHUNK):
            await conn.execute(
                sa.update(memories)
                .where(memories.c.id == sa.bindparam("b_id"))
                .values(access_count=memories.c.access_count + sa.bindparam("b_n"), last_accessed_at=now),
                [{"b_id": i, "b_n": n} for i, n in items[start : start + CHUNK]],
            )

    async def export(
        self, *, namespaces: Sequence[str] | str | None = None, current_only: bool = True, batch: int = CHUNK
    ) -> AsyncIterator[Memory]:
        """Every memory (in id order, a page at a time so a large store never sits in memory at once)."""
        after = ""
        while True:
            stmt = (
                sa.select(*MEMORY_COLUMNS).where(memories.c.id > after).order_by(memories.c.id).limit(batch)
            )
            if namespaces is not None:
                stmt = stmt.where(memories.c.namespace.in_(check_namespaces(namespaces)))
            if current_only:
                stmt = stmt.where(memories.c.valid_until.is_(None))
            async with self.database.engine.connect() as conn:
                page = [row_to_memory(r) for r in (await conn.execute(stmt)).mappings()]
            for memory in page:
                yield memory
            if len(page) < batch:
                return
            after = page[-1].id

    async def count(self) -> int:
        async with self.database.engine.connect() as conn:
            return int((await conn.execute(sa.select(sa.func.count()).select_from(memories))).scalar_one())

    async def namespace_of(self, memory_id: str) -> str | None:
        """Where a memory lives, unscoped: only for callers (admins) already allowed every namespace."""
        async with self.database.engine.connect() as conn:
            found = await conn.execute(sa.select(memories.c.namespace).where(memories.c.id == memory_id))
            value: str | None = found.scalar_one_or_none()
        return value

    async def stats(self, *, namespaces: Sequence[str] | str | None = None) -> MemoryStats:
        """Counts over every namespace, or over `namespaces` (the index figures stay whole-store)."""
        where = sa.true() if namespaces is None else memories.c.namespace.in_(check_namespaces(namespaces))
        async with self.database.engine.connect() as conn:
            by_kind: dict[str, int] = dict(
                (
                    await conn.execute(
                        sa.select(memories.c.kind, sa.func.count()).where(where).group_by(memories.c.kind)
                    )
                ).all()
            )
            current = (
                await conn.execute(sa.select(sa.func.count()).where(where, memories.c.valid_until.is_(None)))
            ).scalar_one()
            namespace_count = (
                await conn.execute(sa.select(sa.func.count(sa.distinct(memories.c.namespace))).where(where))
            ).scalar_one()
            keyword_entries = await self.keyword.count(conn)
        return MemoryStats(
            memories=sum(by_kind.values()),
            current=int(current),
            by_kind=by_kind,
            namespaces=int(namespace_count),
            vectors=len(self.vector),
            keyword_entries=keyword_entries,
            embedding_model=self.embedder.model_id,
            cache_entries=len(self.cache),
        )

    async def close(self) -> None:
        """Write pending use counts and the vector snapshot; the database itself belongs to the caller."""
        with storage_errors(self.database.url):
            async with self.database.engine.begin() as conn:
                await self._flush_access(conn)
        if isinstance(self.vector, NumpyVectorIndex):
            await asyncio.to_thread(self.vector.save)
        for resource in reversed(self.resources):
            await resource.aclose()
        self.resources.clear()


def _duplicates(rows: Sequence[Any], threshold: float) -> list[tuple[Any, Any]]:
    """(keeper, duplicate) pairs: rows come most important first, so the keeper is the earlier row."""
    if len(rows) < 2:
        return []
    matrix = np.stack([vector_from_bytes(r[5]) for r in rows])
    absorbed: set[int] = set()
    pairs: list[tuple[Any, Any]] = []
    for start in range(0, len(rows), CHUNK):
        sims = matrix[start : start + CHUNK] @ matrix.T
        for offset, row_sims in enumerate(sims):
            i = start + offset
            if i in absorbed:
                continue
            for hit in np.nonzero(row_sims >= threshold)[0]:
                j = int(hit)
                if j > i and j not in absorbed:
                    absorbed.add(j)
                    pairs.append((rows[i], rows[j]))
    return pairs
