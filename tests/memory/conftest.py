"""Memory fixtures: the suite's `database` (SQLite and PostgreSQL) and a service over the hashing embedder."""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from sophia.memory import HashingEmbedder, MemoryService
from sophia.store import Database
from tests.memory._helpers import PgVectorServer, missing


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


@pytest.fixture(scope="session")
def pgvector_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PgVectorServer]:
    """One `pgserver` PostgreSQL with pgvector for the session, on a unix socket; tests make their databases."""
    try:
        with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset (containers)
            warnings.simplefilter("ignore")
            import pgserver

            server = pgserver.get_server(tmp_path_factory.mktemp("pgserver"), cleanup_mode="stop")
    except Exception as error:  # no wheel, or the server cannot start here
        missing("pgserver", error)
    try:
        yield PgVectorServer(server)
    finally:
        server.cleanup()
