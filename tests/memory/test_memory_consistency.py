"""Rows are the source of truth: indexes out of step with them are repaired on start, and models never mix."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import sqlalchemy as sa

from sophia.memory import HashingEmbedder, MemoryService, NumpyVectorIndex
from sophia.store import Database
from tests.memory._helpers import keyword_table


async def _ids_in_index(service: MemoryService) -> set[str]:
    assert isinstance(service.vector, NumpyVectorIndex)
    return set(service.vector.ids())


async def test_writes_after_the_last_snapshot_are_restored_on_start(
    database: Database, embedder: HashingEmbedder, index_path: Path
) -> None:
    first = await MemoryService.open(database, embedder, index_path=index_path)
    early = await first.remember("saved before the snapshot", namespace="user:a")
    await first.close()  # snapshot holds `early` only
    crashed = await MemoryService.open(database, embedder, index_path=index_path)
    late = await crashed.remember("acknowledged, then kill -9", namespace="user:a")
    # no close(): the process dies with the snapshot one write behind the rows

    restarted = await MemoryService.open(database, embedder, index_path=index_path)
    assert await _ids_in_index(restarted) == {early, late}
    assert [h.memory.id for h in await restarted.recall("kill -9 acknowledged", "user:a", k=1)] == [late]


async def test_snapshot_entries_without_rows_are_dropped_on_start(
    database: Database, embedder: HashingEmbedder, index_path: Path
) -> None:
    service = await MemoryService.open(database, embedder, index_path=index_path)
    kept = await service.remember("kept memory", namespace="user:a")
    ghost = await service.remember("row deleted behind the index's back", namespace="user:a")
    await service.close()
    async with database.engine.begin() as conn:
        await conn.execute(sa.text("DELETE FROM memories WHERE id = :id"), {"id": ghost})

    restarted = await MemoryService.open(database, embedder, index_path=index_path)
    assert await _ids_in_index(restarted) == {kept}
    stats = await restarted.stats()
    assert stats.keyword_entries == stats.memories == 1  # the FTS table was rebuilt to match


async def test_a_corrupt_snapshot_is_rebuilt_from_rows(
    database: Database, embedder: HashingEmbedder, index_path: Path
) -> None:
    service = await MemoryService.open(database, embedder, index_path=index_path)
    memory_id = await service.remember("survives a torn snapshot", namespace="global")
    await service.close()
    index_path.write_bytes(b"not a numpy file")

    restarted = await MemoryService.open(database, embedder, index_path=index_path)
    assert await _ids_in_index(restarted) == {memory_id}
    assert np.load(index_path)["ids"].tolist() == [memory_id]  # and the snapshot was rewritten


async def test_a_different_embedding_model_reembeds_rows_on_start(
    database: Database, index_path: Path
) -> None:
    old_model = HashingEmbedder(dimensions=64)
    service = await MemoryService.open(database, old_model, index_path=index_path)
    memory_id = await service.remember("the quarterly report is due Friday", namespace="global")
    await service.close()

    new_model = HashingEmbedder(dimensions=96)
    restarted = await MemoryService.open(database, new_model, index_path=index_path)
    assert (await restarted.get(memory_id, namespaces="global")).embedding_model == new_model.model_id
    async with database.engine.connect() as conn:
        blob = (await conn.execute(sa.text("SELECT embedding FROM memories"))).scalar_one()
    assert len(blob) == 96 * 4
    hits = await restarted.recall("quarterly report", "global")
    assert [h.memory.id for h in hits] == [memory_id] and hits[0].reasons.vector_score is not None


async def test_reindex_rebuilds_both_indexes_from_rows(memory: MemoryService, database: Database) -> None:
    ids = [await memory.remember(f"note number {i} about rebuilding", namespace="user:r") for i in range(5)]
    async with database.engine.begin() as conn:
        await conn.execute(sa.text(f"DELETE FROM {keyword_table(database)}"))
    await memory.vector.reset([])
    assert (await memory.stats()).keyword_entries == 0 and len(memory.vector) == 0

    report = await memory.reindex()
    assert report.keyword_rebuilt
    stats = await memory.stats()
    assert stats.vectors == stats.keyword_entries == 5
    hits = await memory.recall("note rebuilding", "user:r", k=5)
    assert {h.memory.id for h in hits} == set(ids)
    assert all(h.reasons.keyword_rank is not None and h.reasons.vector_rank is not None for h in hits)
