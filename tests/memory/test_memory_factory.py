"""`open_memory` builds the service the server and CLI share: snapshot under SOPHIA_HOME, one file per model."""

from __future__ import annotations

from sophia.config import Settings
from sophia.memory import HashingEmbedder, NumpyVectorIndex, memory_index_path, open_memory
from sophia.store import Database


async def test_open_memory_keeps_the_vector_snapshot_under_sophia_home_per_model(
    database: Database,
) -> None:
    settings = Settings()  # SOPHIA_HOME is the test's own folder (root conftest)
    embedder = HashingEmbedder(dimensions=32)
    service = await open_memory(settings, database, embedder=embedder)
    await service.remember("snapshots live under the home folder", namespace="global")
    await service.close()
    path = memory_index_path(settings, embedder)
    assert path.is_file() and path.is_relative_to(settings.home)
    assert isinstance(service.vector, NumpyVectorIndex) and service.vector.path == path
    assert memory_index_path(settings, HashingEmbedder(dimensions=64)) != path
