"""Memory fixtures: the suite's `database` (SQLite and PostgreSQL) and a service over the hashing embedder."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sophia.memory import HashingEmbedder, MemoryService
from sophia.store import Database


@pytest.fixture
def embedder() -> HashingEmbedder:
    return HashingEmbedder(dimensions=128)


@pytest.fixture
def index_path(tmp_path: Path) -> Path:
    return tmp_path / "memory" / "vectors.npz"


@pytest.fixture
async def memory(
    database: Database, embedder: HashingEmbedder, index_path: Path
) -> AsyncIterator[MemoryService]:
    service = await MemoryService.open(database, embedder, index_path=index_path)
    yield service
    await service.close()
