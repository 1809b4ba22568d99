"""Versions written inside a caller's transaction: a sync commits a page of memories with its cursor, atomically.

`write_versions` adds the rows (and closes what they supersede) on the caller's connection; `publish`, after the
caller's commit, tells the vector index and the cache. A crash between the two is repaired by `start()` from the rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from sophia.memory._changes import record_change
from sophia.memory._maintenance import Maintenance
from sophia.memory._model import Memory, MemoryKind, now_utc
from sophia.memory._rows import close_rows
from sophia.memory._schema import memories, memory_to_row
from sophia.memory._vector import F32, VectorEntry

__all__ = ["Draft", "PendingVersions", "Version", "VersionWrites", "vector_entry"]


@dataclass(frozen=True)
class Draft:
    memory: Memory
    search_text: str
    embed_text: str


@dataclass(frozen=True)
class Version:
    """One memory version for `write_versions`: new, or superseding the still-current memory `supersedes`."""

    content: str
    namespace: str
    kind: str | MemoryKind = MemoryKind.FACT
    metadata: Mapping[str, Any] | None = None
    source: str | None = None
    occurred_at: datetime | None = None
    supersedes: str | None = None


@dataclass(frozen=True)
class PendingVersions:
    """Versions written in a caller's transaction; `MemoryService.publish` makes them searchable after commit."""

    ids: list[str]
    closed: list[str]
    generation: int
    entries: list[VectorEntry]
    namespaces: list[str]
    at: datetime


class VersionWrites(Maintenance):
    """The part of `MemoryService` that writes inside someone else's transaction."""

    def _draft(
        self,
        content: str,
        *,
        namespace: str,
        kind: str | MemoryKind,
        metadata: Mapping[str, Any] | None,
        importance: float,
        source: str | None,
        speaker: str | None,
        session_id: str | None,
        occurred_at: datetime | None,
        turn_index: int | None,
    ) -> Draft:
        raise NotImplementedError

    async def _embed(self, texts: Sequence[str]) -> F32:
        raise NotImplementedError

    async def write_versions(
        self, conn: AsyncConnection, versions: Sequence[Version], *, close: Sequence[str] = ()
    ) -> PendingVersions:
        """Add versions inside the caller's transaction (a sync commits a page with its cursor); each superseded
        memory and each id in `close` gets its validity closed, so `as_of` still sees the old text. Call
        `publish` after commit; a crash before it is repaired by `start()` from the rows."""
        drafts = [
            replace(d, memory=replace(d.memory, supersedes=v.supersedes))
            for v, d in ((v, self._version_draft(v)) for v in versions)
        ]
        at = now_utc()
        closing = [v.supersedes for v in versions if v.supersedes] + list(close)
        closed = await close_rows(conn, closing, at) if closing else []
        vectors = await self._embed([d.embed_text for d in drafts]) if drafts else None
        entries: list[VectorEntry] = []
        if drafts and vectors is not None:
            drafts = [replace(d, memory=replace(d.memory, valid_from=at)) for d in drafts]
            rows = [memory_to_row(d.memory, d.search_text, v) for d, v in zip(drafts, vectors, strict=True)]
            await conn.execute(sa.insert(memories), rows)
            await self.keyword.add(conn, [(d.memory.id, d.memory.namespace, d.search_text) for d in drafts])
            entries = [vector_entry(d.memory, v) for d, v in zip(drafts, vectors, strict=True)]
        namespaces = sorted({d.memory.namespace for d in drafts} | {v.namespace for v in versions})
        ids = [d.memory.id for d in drafts]
        generation = await record_change(conn, namespaces, ids + closed, at) if ids or closed else 0
        return PendingVersions(ids, closed, generation, entries, namespaces, at)

    async def publish(self, pending: PendingVersions) -> None:
        """After the caller's commit: the vector index and the cache learn what `write_versions` wrote."""
        if not pending.ids and not pending.closed:
            return

        async def apply() -> None:
            if pending.closed:
                await self.vector.close_validity(pending.closed, pending.at)
            await self.vector.add(pending.entries)
            await self.cache.invalidate(pending.namespaces, pending.closed)

        await self._after_commit(pending.generation, apply)

    def _version_draft(self, version: Version) -> Draft:
        return self._draft(
            version.content,
            namespace=version.namespace,
            kind=version.kind,
            metadata=version.metadata,
            importance=0.5,
            source=version.source,
            speaker=None,
            session_id=None,
            occurred_at=version.occurred_at,
            turn_index=None,
        )


def vector_entry(memory: Memory, vector: F32) -> VectorEntry:
    return VectorEntry(
        memory.id,
        np.asarray(vector, dtype=np.float32),
        memory.namespace,
        memory.kind,
        memory.valid_from,
        memory.valid_until,
        memory.expires_at,
    )
