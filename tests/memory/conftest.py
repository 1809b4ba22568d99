"""Memory fixtures: a migrated SQLite file per test and a service over the hashing embedder (fast, exact)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sophia.memory import HashingEmbedder, MemoryService
from sophia.store import Database, upgrade


@pytest.fixture
def database_path(tmp_path: Path) -> Path:
    return tmp_path / "sophia.db"


@pytest.fixture
async def database(database_path: Path) -> AsyncIterator[Database]:
    url = f"sqlite+aiosqlite:///{database_path}"
    await upgrade(url)
    db = Database(url)
    yield db
    await db.close()


@pytest.fixture
def embedder() -> HashingEmbedder:
    return HashingEmbedder(dimensions=128)


@pytest.fixture
def index_path(tmp_path: Path) -> Path:
    return tmp_path / "memory" / "vectors.npz"


@pytest.fixture
async def memory(database: Database, embedder: HashingEmbedder, index_path: Path) -> AsyncIterator[MemoryService]:
    service = await MemoryService.open(database, embedder, index_path=index_path)
    yield service
    await service.close()
