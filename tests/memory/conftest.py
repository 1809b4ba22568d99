"""Memory fixtures: a migrated SQLite file per test and a service over the hashing embedder (fast, exact)."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sophia.memory import HashingEmbedder, MemoryService
from sophia.store import Database, upgrade


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrate once per session and copy the file per test: the migration itself is tested elsewhere."""
    path = tmp_path_factory.mktemp("memory-template") / "template.db"
    asyncio.run(upgrade(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture
def database_path(tmp_path: Path, migrated_template: Path) -> Path:
    path = tmp_path / "sophia.db"
    shutil.copyfile(migrated_template, path)
    return path


@pytest.fixture
async def database(database_path: Path) -> AsyncIterator[Database]:
    db = Database(f"sqlite+aiosqlite:///{database_path}")
    yield db
    await db.close()


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
