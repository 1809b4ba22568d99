"""The generation clock that keeps every process's in-process index and cache in line with the shared rows.

A write moves `memory_clock.generation` on inside its own transaction and logs what it touched. The clock row is
locked from that update to the commit, so generations commit in order: a reader that sees generation N has every
change up to N. Before reading its index or cache, a process asks for the changes after its own generation and
re-reads only those memories (see `MemoryService.catch_up`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from sophia.memory._schema import memory_changes, memory_clock

CHANGE_LOG_KEPT = timedelta(days=1)
"""How long changes stay in the log; a process further behind than this rebuilds its index from the rows."""


@dataclass(frozen=True)
class Changes:
    """What moved since a generation: `None` means everything (a reindex, a re-embed, a decay pass)."""

    generation: int
    namespaces: set[str] | None
    memory_ids: set[str] | None


async def record_change(
    conn: AsyncConnection,
    namespaces: Iterable[str] | None,
    memory_ids: Iterable[str] | None,
    at: datetime,
) -> int:
    """Move the clock on and log what this transaction touched; call it last, so the row lock is held briefly."""
    tick = (
        _insert(conn)
        .values(id=1, generation=1, pruned_through=0)
        .on_conflict_do_update(
            index_elements=[memory_clock.c.id], set_={"generation": memory_clock.c.generation + 1}
        )
        .returning(memory_clock.c.generation)
    )  # an upsert, so an emptied clock table (a TRUNCATE) starts again instead of failing every write
    generation = int((await conn.execute(tick)).scalar_one())
    await conn.execute(
        sa.insert(memory_changes).values(
            generation=generation,
            namespaces=None if namespaces is None else sorted(set(namespaces)),
            memory_ids=None if memory_ids is None else sorted(set(memory_ids)),
            changed_at=at,
        )
    )
    return generation


def _insert(conn: AsyncConnection) -> Any:
    """An INSERT on the clock with ON CONFLICT (upserts), in the dialect's own flavour."""
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(memory_clock)


async def current_generation(conn: AsyncConnection) -> int:
    found = await conn.execute(sa.select(memory_clock.c.generation).where(memory_clock.c.id == 1))
    return int(found.scalar_one_or_none() or 0)


async def changes_since(conn: AsyncConnection, generation: int) -> Changes | None:
    """The union of every change after `generation`, or None when nothing moved (everything, when unknown)."""
    clock = (
        await conn.execute(
            sa.select(memory_clock.c.generation, memory_clock.c.pruned_through).where(memory_clock.c.id == 1)
        )
    ).one_or_none()
    latest, pruned = (int(clock[0]), int(clock[1])) if clock is not None else (0, 0)
    if latest == generation:
        return None
    if generation < pruned or latest < generation:  # the log no longer reaches back that far, or was reset
        return Changes(latest, None, None)
    rows = (
        await conn.execute(
            sa.select(memory_changes.c.generation, memory_changes.c.namespaces, memory_changes.c.memory_ids)
            .where(memory_changes.c.generation > generation)
            .order_by(memory_changes.c.generation)
        )
    ).all()
    if not rows:
        return None
    namespaces: set[str] | None = set()
    memory_ids: set[str] | None = set()
    for _, row_namespaces, row_ids in rows:
        namespaces = (
            None if namespaces is None or row_namespaces is None else namespaces | set(row_namespaces)
        )
        memory_ids = None if memory_ids is None or row_ids is None else memory_ids | set(row_ids)
    return Changes(int(rows[-1][0]), namespaces, memory_ids)


async def prune_changes(conn: AsyncConnection, now: datetime) -> int:
    """Drop changes older than `CHANGE_LOG_KEPT`, remembering the newest one dropped."""
    cutoff = now - CHANGE_LOG_KEPT
    newest = (
        await conn.execute(
            sa.select(sa.func.max(memory_changes.c.generation)).where(memory_changes.c.changed_at < cutoff)
        )
    ).scalar_one_or_none()
    if newest is None:
        return 0
    removed = await conn.execute(sa.delete(memory_changes).where(memory_changes.c.generation <= newest))
    await conn.execute(
        sa.update(memory_clock)
        .where(memory_clock.c.id == 1, memory_clock.c.pruned_through < newest)
        .values(pruned_through=newest)
    )
    return int(removed.rowcount or 0)


async def claim_consolidation(conn: AsyncConnection, every: timedelta, now: datetime) -> bool:
    """Take this period's forgetting pass; of all the processes that ask, exactly one gets True.

    The first ask of an install only starts the clock, so the first pass comes one period later, not at start-up.
    """
    start_clock = (
        _insert(conn)
        .values(id=1, generation=0, pruned_through=0, consolidated_at=now)
        .on_conflict_do_update(
            index_elements=[memory_clock.c.id],
            set_={"consolidated_at": now},
            where=memory_clock.c.consolidated_at.is_(None),
        )
    )
    if (await conn.execute(start_clock)).rowcount == 1:
        return False
    claimed = await conn.execute(
        sa.update(memory_clock)
        .where(memory_clock.c.id == 1, memory_clock.c.consolidated_at <= now - every)
        .values(consolidated_at=now)
    )
    return claimed.rowcount == 1
