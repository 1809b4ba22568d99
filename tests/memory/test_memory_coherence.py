"""Two processes' services over one database: what one writes, forgets or purges, the other's recall sees at once.

Each service has its own NumPy index and LRU (as two `sophia` processes do); only the database is shared.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from sophia.memory import ConsolidationSchedule, HashingEmbedder, MemoryService, MemorySettings
from sophia.memory._model import now_utc
from sophia.memory._schema import memory_clock
from sophia.store import Database

VECTORS_ONLY = MemorySettings(keyword_weight=0.0)  # a hit can only come from this process's vector index

Pair = tuple[MemoryService, MemoryService]


@pytest.fixture
async def pair(database: Database, tmp_path: Path) -> AsyncIterator[Pair]:
    embedder = HashingEmbedder(dimensions=64)
    writer = await MemoryService.open(database, embedder, index_path=tmp_path / "one.npz")
    reader = await MemoryService.open(
        database, embedder, index_path=tmp_path / "two.npz", settings=VECTORS_ONLY
    )
    yield writer, reader
    await writer.close()
    await reader.close()


async def test_a_memory_written_by_one_process_is_found_by_the_others_vector_search(pair: Pair) -> None:
    writer, reader = pair
    assert await reader.recall("release train thursday", "project:rt") == []  # cached as empty, too
    memory_id = await writer.remember("the release train leaves on thursday", namespace="project:rt")
    hits = await reader.recall("release train thursday", "project:rt")
    assert [h.memory.id for h in hits] == [memory_id]
    assert hits[0].reasons.vector_rank == 1
    assert memory_id in reader.vector  # type: ignore[operator]


async def test_an_update_and_a_forget_elsewhere_leave_no_stale_hit(pair: Pair) -> None:
    writer, reader = pair
    old = await writer.remember("the office wifi password rotates monthly", namespace="global")
    assert [h.memory.id for h in await reader.recall("office wifi password", "global")] == [old]
    new = await writer.update(old, "the office wifi password rotates weekly", namespaces="global")
    hits = await reader.recall("office wifi password", "global")
    assert [h.memory.id for h in hits] == [new]
    assert (await reader.get(old, namespaces="global")).valid_until is not None  # no stale cached copy
    await writer.forget(new, namespaces="global", hard=True)
    assert await reader.recall("office wifi password", "global") == []
    assert new not in reader.vector  # type: ignore[operator]


async def test_a_purge_by_another_process_consolidation_reaches_this_index(pair: Pair) -> None:
    writer, reader = pair
    kept = await writer.remember("standup is at nine", namespace="global")
    short = await writer.remember("standup moved to ten today", namespace="global", ttl=timedelta(seconds=1))
    assert short in {h.memory.id for h in await reader.recall("standup", "global")}
    async with writer.database.engine.begin() as conn:  # the TTL ran out a minute ago
        await conn.execute(sa.text("UPDATE memories SET expires_at = valid_from WHERE id = :i"), {"i": short})
    report = await writer.consolidate()
    assert report.expired == 1 and report.expired_ids == (short,)
    await reader.catch_up()
    assert short not in reader.vector and kept in reader.vector  # type: ignore[operator]


async def test_a_process_behind_the_pruned_log_rebuilds_its_index_from_the_rows(pair: Pair) -> None:
    writer, reader = pair
    first = await writer.remember("the build cache lives on the NAS", namespace="global")
    await reader.catch_up()
    second = await writer.remember("the build cache moved to S3", namespace="global")
    async with writer.database.engine.begin() as conn:  # the log was pruned past the reader's generation
        await conn.execute(sa.text("DELETE FROM memory_changes"))
        await conn.execute(sa.text("UPDATE memory_clock SET pruned_through = generation"))
    assert await reader.catch_up() == 1
    assert {first, second} <= set(reader.vector.ids())  # type: ignore[attr-defined]


async def test_only_one_process_claims_each_consolidation_period(pair: Pair) -> None:
    writer, reader = pair
    one = ConsolidationSchedule(writer, 3600)
    two = ConsolidationSchedule(reader, 3600)
    assert await one.run_if_due() is None  # the first ask starts the clock: no pass at start-up
    assert await two.run_if_due() is None
    async with writer.database.engine.begin() as conn:  # an hour and a bit went by
        await conn.execute(sa.update(memory_clock).values(consolidated_at=now_utc() - timedelta(hours=2)))
    assert await one.run_if_due() is not None
    assert await two.run_if_due() is None and await one.run_if_due() is None
    assert (one.passes, two.passes) == (1, 0)
    assert not ConsolidationSchedule(writer, 0).enabled
