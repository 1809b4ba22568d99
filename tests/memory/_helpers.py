"""Small helpers the memory tests share: engine-specific table names, the pgvector server."""

from __future__ import annotations

import asyncio
import os
import uuid
from dataclasses import dataclass
from typing import Any, NoReturn

import pytest
import sqlalchemy as sa

from sophia.store import Database, upgrade


def keyword_table(database: Database) -> str:
    """The full-text side table: FTS5 on SQLite, tsvector on PostgreSQL."""
    return "memory_tsv" if database.engine.dialect.name == "postgresql" else "memory_fts"


async def row_count(database: Database, table: str) -> int:
    async with database.engine.connect() as conn:
        return int((await conn.execute(sa.text(f"SELECT count(*) FROM {table}"))).scalar_one())


def missing(what: str, error: Exception) -> NoReturn:
    """Skip a test whose server part is not here, except in CI, where that is a failure."""
    message = f"{what} is not available ({type(error).__name__}: {error})"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message}; CI must run the server vector tests", pytrace=False)
    pytest.skip(message)


@dataclass
class PgVectorServer:
    """A throwaway PostgreSQL 16 with pgvector from the `pgserver` wheel (the system PostgreSQL has none)."""

    server: Any

    @property
    def socket_dir(self) -> str:
        return str(self.server.get_uri().split("host=", 1)[1])

    def database(self, name: str | None = None) -> str:
        """A new empty database on the server, as an asyncpg URL over the unix socket."""
        name = name or f"sophia_{uuid.uuid4().hex[:12]}"
        self.server.psql(f"CREATE DATABASE {name};")
        return f"postgresql+asyncpg://postgres@/{name}?host={self.socket_dir}"

    def migrated_database(self, name: str | None = None) -> str:
        url = self.database(name)
        asyncio.run(upgrade(url))
        return url
