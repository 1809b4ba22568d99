"""Small helpers the memory tests share (engine-specific table names)."""

from __future__ import annotations

import sqlalchemy as sa

from sophia.store import Database


def keyword_table(database: Database) -> str:
    """The full-text side table: FTS5 on SQLite, tsvector on PostgreSQL."""
    return "memory_tsv" if database.engine.dialect.name == "postgresql" else "memory_fts"


async def row_count(database: Database, table: str) -> int:
    async with database.engine.connect() as conn:
        return int((await conn.execute(sa.text(f"SELECT count(*) FROM {table}"))).scalar_one())
