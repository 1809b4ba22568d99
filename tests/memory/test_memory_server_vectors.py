"""Server vector backends behind the same `VectorIndex` calls: pgvector (a `pgserver` PostgreSQL 16) and Qdrant
(its local mode; the same code talks to a server by URL). Both must confine, order and repair like the embedded one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from sophia.memory import (
    HashingEmbedder,
    MemoryKind,
    MemoryService,
    PgVectorIndex,
    QdrantVectorIndex,
    Scope,
    VectorEntry,
    VectorIndex,
)
from sophia.store import Database
from tests.memory._helpers import PgVectorServer


@pytest.fixture(scope="module")
def pgserver_url(pgvector_server: PgVectorServer) -> str:
    return pgvector_server.migrated_database("sophia_vectors")


@pytest.fixture
async def pg_database(pgserver_url: str) -> AsyncIterator[Database]:
    database = Database(pgserver_url)
    yield database
    async with database.engine.begin() as conn:
        for table in ("memory_tsv", "memories"):
            await conn.execute(sa.text(f"DELETE FROM {table}"))
        await conn.execute(sa.text("DROP TABLE IF EXISTS memory_vectors_64"))
    await database.close()


def _entry(memory_id: str, vector: list[float], namespace: str, **extra: object) -> VectorEntry:
    values: dict[str, object] = {
        "kind": MemoryKind.FACT,
        "valid_from": datetime.now(UTC) - timedelta(days=1),
        "valid_until": None,
        "expires_at": None,
        **extra,
    }
    unit = np.asarray(vector + [0.0] * (64 - len(vector)), dtype=np.float32)
    return VectorEntry(memory_id, unit / np.linalg.norm(unit), namespace, **values)  # type: ignore[arg-type]


async def check_backend_contract(index: VectorIndex) -> None:
    now = datetime.now(UTC)
    await index.add(
        [
            _entry("a" * 32, [1, 0], "user:a"),
            _entry("b" * 32, [0.9, 0.1], "user:a"),
            _entry("c" * 32, [1, 0], "user:b"),
            _entry("d" * 32, [1, 0.05], "user:a", kind=MemoryKind.CODE),
            _entry("e" * 32, [1, 0], "user:a", expires_at=now - timedelta(seconds=1)),
        ]
    )
    assert len(index) == 5
    scope = Scope(("user:a",), None, None, now)
    query = _entry("q" * 32, [1, 0], "user:a").vector
    assert [i for i, _ in await index.search(query, scope, 10)] == ["a" * 32, "d" * 32, "b" * 32]
    only_code = Scope(("user:a",), (MemoryKind.CODE,), None, now)
    assert [i for i, _ in await index.search(query, only_code, 10)] == ["d" * 32]
    await index.close_validity(["a" * 32], now)
    assert "a" * 32 not in {i for i, _ in await index.search(query, Scope(("user:a",), None, None, now), 10)}
    past = Scope(("user:a",), None, now - timedelta(hours=1), now)
    assert "a" * 32 in {i for i, _ in await index.search(query, past, 10)}
    await index.remove(["b" * 32])
    assert len(index) == 4
    assert [i for i, _ in await index.search(query, Scope(("user:b",), None, None, now), 10)] == ["c" * 32]
    await index.reset([_entry("f" * 32, [0, 1], "user:a")])
    assert len(index) == 1 and [i for i, _ in await index.search(query, scope, 10)] == ["f" * 32]


async def test_pgvector_index_keeps_the_vector_index_contract(pg_database: Database) -> None:
    await check_backend_contract(await PgVectorIndex.open(pg_database, 64))


async def test_memory_service_on_pgvector_recalls_and_repairs_after_a_lost_index_write(
    pg_database: Database, tmp_path: Path
) -> None:
    embedder = HashingEmbedder(dimensions=64)
    index = await PgVectorIndex.open(pg_database, 64)
    service = await MemoryService.open(pg_database, embedder, vector_index=index)
    kept = await service.remember("the build cache lives on the NAS", namespace="project:ci")
    hits = await service.recall("where is the build cache", "project:ci")
    assert hits[0].memory.id == kept and hits[0].reasons.vector_rank == 1
    await index.remove([kept])  # as if the process died between the row commit and the index write
    reopened = await MemoryService.open(
        pg_database, embedder, vector_index=await PgVectorIndex.open(pg_database, 64)
    )
    assert len(reopened.vector) == 1
    again = await reopened.recall("where is the build cache", "project:ci")
    assert again[0].memory.id == kept and again[0].reasons.vector_rank == 1


@pytest.fixture
async def qdrant_index() -> AsyncIterator[QdrantVectorIndex]:
    index = await QdrantVectorIndex.open(64, location=":memory:")
    yield index
    await index.aclose()


async def test_qdrant_index_keeps_the_vector_index_contract(qdrant_index: QdrantVectorIndex) -> None:
    assert qdrant_index.local
    await check_backend_contract(qdrant_index)


async def test_memory_service_on_qdrant_recalls_and_hard_forget_removes_the_point(
    database: Database, qdrant_index: QdrantVectorIndex
) -> None:
    service = await MemoryService.open(database, HashingEmbedder(dimensions=64), vector_index=qdrant_index)
    kept = await service.remember("the on-call phone is in the red drawer", namespace="user:q")
    gone = await service.remember("the old on-call phone was lost", namespace="user:q")
    hits = await service.recall("on-call phone red drawer", "user:q")
    assert hits[0].memory.id == kept and hits[0].reasons.vector_rank == 1
    await service.forget(gone, namespaces="user:q", hard=True)
    assert len(qdrant_index) == 1
    assert gone not in {h.memory.id for h in await service.recall("on-call phone", "user:q")}
