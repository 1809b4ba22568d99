"""Migration 0002 creates the memory table and its SQLite FTS5 index, and downgrades cleanly."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from sophia.store import Database, downgrade, upgrade


async def test_memory_migration_upgrades_and_downgrades_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    await upgrade(url)
    database = Database(url)
    async with database.engine.connect() as conn:
        names = set((await conn.execute(sa.text("SELECT name FROM sqlite_master"))).scalars())
        sql = (
            await conn.execute(sa.text("SELECT sql FROM sqlite_master WHERE name = 'memory_fts'"))
        ).scalar_one()
    assert {"memories", "memory_fts", "ix_memories_namespace_kind"} <= names
    assert "porter" in sql
    await database.close()
    await downgrade(url, "0001")
    database = Database(url)
    async with database.engine.connect() as conn:
        names = set((await conn.execute(sa.text("SELECT name FROM sqlite_master"))).scalars())
    await database.close()
    assert not any(name.startswith("memor") for name in names)
