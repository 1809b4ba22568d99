"""Migration 0005 creates exactly the dashboard's ORM tables, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

import sophia.server.web  # noqa: F401  (registers the dashboard's tables on Base.metadata)
from sophia.store import Base, create_engine

WEB_TABLES = {"web_sessions", "conversations", "conversation_messages"}


def _ours(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
    return table in WEB_TABLES


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True, "include_object": _ours})
    return list(compare_metadata(context, Base.metadata))


async def test_migration_0005_matches_the_dashboard_models(migrated_database_url: str) -> None:
    engine = create_engine(migrated_database_url)
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(_differences)
    finally:
        await engine.dispose()
    assert differences == []
