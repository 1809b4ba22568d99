"""consolidate() is the forgetting mechanism: TTLs expire, near-duplicates merge, unused importance decays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from sophia.memory import MemoryService, Turn
from sophia.store import Database, UtcDateTime
from tests.memory._helpers import keyword_table

_memories = sa.table("memories", sa.column("id"), sa.column("created_at", UtcDateTime()))


async def test_consolidate_merges_near_duplicates_into_the_more_important_one(
    memory: MemoryService, database: Database
) -> None:
    keeper = await memory.remember(
        "Deploys go out every Tuesday afternoon", namespace="project:x", importance=0.8
    )
    dup = await memory.remember(
        "deploys go out every tuesday afternoon!", namespace="project:x", importance=0.3
    )
    other_ns = await memory.remember("Deploys go out every Tuesday afternoon", namespace="project:y")
    distinct = await memory.remember("The database is backed up nightly", namespace="project:x")

    report = await memory.consolidate()
    assert report.merged == 1
    hits = await memory.recall("when do deploys go out", "project:x")
    assert keeper in {h.memory.id for h in hits} and dup not in {h.memory.id for h in hits}
    assert distinct in {h.memory.id for h in await memory.recall("database backup", "project:x")}
    assert [h.memory.id for h in await memory.recall("deploys tuesday", "project:y")] == [other_ns]
    merged = await memory.get(dup, namespaces="project:x")
    assert merged.valid_until is not None  # closed, still in history
    async with database.engine.connect() as conn:
        importance = (
            await conn.execute(sa.text("SELECT importance FROM memories WHERE id = :id"), {"id": keeper})
        ).scalar_one()
    assert importance == 0.8


async def test_consolidate_never_merges_conversation_turns(memory: MemoryService) -> None:
    await memory.ingest_conversation(
        [Turn("Ann", "Thanks!"), Turn("Ben", "ok"), Turn("Ann", "Thanks!")],
        namespace="user:ann",
        session_id="s",
    )
    assert (await memory.consolidate()).merged == 0


async def test_consolidate_hard_deletes_expired_memories(memory: MemoryService, database: Database) -> None:
    lasting = await memory.remember("the API base url is api.example.com", namespace="global")
    fleeting = await memory.remember(
        "the one-time code is 123456", namespace="global", ttl=timedelta(milliseconds=1)
    )
    assert fleeting not in {
        h.memory.id for h in await memory.recall("one-time code", "global")
    }  # hidden at once
    report = await memory.consolidate()
    assert report.expired == 1
    async with database.engine.connect() as conn:
        ids = set((await conn.execute(sa.text("SELECT id FROM memories"))).scalars())
        fts = (await conn.execute(sa.text(f"SELECT count(*) FROM {keyword_table(database)}"))).scalar_one()
    assert ids == {lasting} and fts == 1 and len(memory.vector) == 1


async def test_consolidate_decays_importance_of_memories_unused_for_long(
    memory: MemoryService, database: Database
) -> None:
    old = await memory.remember("a stale fact nobody reads", namespace="global", importance=0.5)
    fresh = await memory.remember("a fresh fact", namespace="global", importance=0.5)
    long_ago = datetime.now(UTC) - timedelta(days=90)
    async with database.engine.begin() as conn:
        await conn.execute(sa.update(_memories).where(_memories.c.id == old).values(created_at=long_ago))
    assert (await memory.consolidate()).decayed == 1
    async with database.engine.connect() as conn:
        rows = dict((await conn.execute(sa.text("SELECT id, importance FROM memories"))).all())
    assert rows[old] < 0.5 and rows[fresh] == 0.5
