"""SQL reads and writes on the memory rows that several service operations share."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from sophia.memory._model import Memory, MemoryKind, Scope
from sophia.memory._schema import CHUNK, MEMORY_COLUMNS, delete_in, memories, row_to_memory, vector_from_bytes
from sophia.memory._vector import F32, VectorEntry


async def fetch_memories(
    conn: AsyncConnection, ids: Iterable[str], scope: Scope | None = None
) -> dict[str, Memory]:
    """Rows by id; with a scope, rows outside it are left out (the authorisation backstop for recall).

    The scope is checked in Python on the fetched rows: in SQL it tempts the planner into the namespace index
    instead of the primary key, which costs a scan of every row in the caller's namespaces.
    """
    wanted = list(dict.fromkeys(ids))
    found: dict[str, Memory] = {}
    for start in range(0, len(wanted), CHUNK):
        stmt = sa.select(*MEMORY_COLUMNS).where(memories.c.id.in_(wanted[start : start + CHUNK]))
        for row in (await conn.execute(stmt)).mappings():
            memory = row_to_memory(row)
            if scope is None or in_scope(memory, scope):
                found[memory.id] = memory
    return found


def in_scope(memory: Memory, scope: Scope) -> bool:
    """The Python twin of `scope_clause`: namespace, kind, validity at the scope's moment, not expired."""
    return (
        memory.namespace in scope.namespaces
        and (scope.kinds is None or memory.kind in scope.kinds)
        and memory.valid_at(scope.moment)
        and (memory.expires_at is None or memory.expires_at > scope.now)
    )


async def fetch_turns(
    conn: AsyncConnection, keys: Iterable[tuple[str, str, int]], scope: Scope
) -> dict[str, Memory]:
    """Conversation turns by (namespace, session, turn index), grouped into one OR-query."""
    grouped: dict[tuple[str, str], set[int]] = defaultdict(set)
    for namespace, session, turn in keys:
        grouped[(namespace, session)].add(turn)
    if not grouped:
        return {}
    conditions = [
        sa.and_(
            memories.c.namespace == namespace,
            memories.c.session_id == session,
            memories.c.turn_index.in_(sorted(turns)),
        )
        for (namespace, session), turns in grouped.items()
    ]
    stmt = sa.select(*MEMORY_COLUMNS).where(sa.or_(*conditions))
    found = (row_to_memory(row) for row in (await conn.execute(stmt)).mappings())
    return {memory.id: memory for memory in found if in_scope(memory, scope)}


async def version_chain(conn: AsyncConnection, memory_id: str) -> list[str]:
    """Every version linked to `memory_id` through `supersedes`, in either direction."""
    chain = {memory_id}
    frontier = {memory_id}
    while frontier:
        stmt = sa.select(memories.c.id, memories.c.supersedes).where(
            sa.or_(memories.c.id.in_(frontier), memories.c.supersedes.in_(frontier))
        )
        linked: set[str] = set()
        for row in (await conn.execute(stmt)).all():
            linked.update(x for x in (row[0], row[1]) if x is not None)
        frontier = linked - chain
        chain |= linked
    return sorted(chain)


async def delete_rows(conn: AsyncConnection, ids: Sequence[str]) -> None:
    await delete_in(conn, memories, "id", ids)


async def close_rows(conn: AsyncConnection, ids: Sequence[str], at: datetime) -> list[str]:
    """Close the validity of the still-open rows among `ids`; return those that were open."""
    closed: list[str] = []
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        open_ids = (
            (
                await conn.execute(
                    sa.select(memories.c.id).where(memories.c.id.in_(chunk), memories.c.valid_until.is_(None))
                )
            )
            .scalars()
            .all()
        )
        if open_ids:
            await conn.execute(sa.update(memories).where(memories.c.id.in_(open_ids)).values(valid_until=at))
            closed.extend(open_ids)
    return closed


_ENTRY_COLUMNS = [
    memories.c[name] for name in ("id", "namespace", "kind", "valid_from", "valid_until", "expires_at")
]


async def vector_entries(
    conn: AsyncConnection, model_id: str, known: dict[str, F32] | None = None
) -> tuple[list[VectorEntry], int]:
    """Index entries for every row of `model_id`, taking vectors from `known` and the rest from the rows.

    Returns the entries and how many vectors had to be read from the rows (the repair count).
    """
    stmt = sa.select(*_ENTRY_COLUMNS).where(memories.c.embedding_model == model_id)
    return await _entries(conn, list((await conn.execute(stmt)).all()), known or {})


async def vector_entries_of(conn: AsyncConnection, model_id: str, ids: Sequence[str]) -> list[VectorEntry]:
    """Index entries for the rows among `ids` that exist and carry a `model_id` vector (the rest are gone)."""
    rows: list[Any] = []
    for start in range(0, len(ids), CHUNK):
        stmt = sa.select(*_ENTRY_COLUMNS).where(
            memories.c.id.in_(ids[start : start + CHUNK]), memories.c.embedding_model == model_id
        )
        rows.extend((await conn.execute(stmt)).all())
    entries, _ = await _entries(conn, rows, {})
    return entries


async def _entries(
    conn: AsyncConnection, rows: Sequence[Any], known: dict[str, F32]
) -> tuple[list[VectorEntry], int]:
    missing = [row[0] for row in rows if row[0] not in known]
    vectors = dict(known)
    for start in range(0, len(missing), CHUNK):
        stmt = sa.select(memories.c.id, memories.c.embedding).where(
            memories.c.id.in_(missing[start : start + CHUNK]), memories.c.embedding.is_not(None)
        )
        for memory_id, blob in (await conn.execute(stmt)).all():
            vectors[memory_id] = vector_from_bytes(blob)
    entries = [
        VectorEntry(row[0], vectors[row[0]], row[1], MemoryKind(row[2]), row[3], row[4], row[5])
        for row in rows
        if row[0] in vectors
    ]
    return entries, len(missing)
