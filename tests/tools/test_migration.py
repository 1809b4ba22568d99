"""Migration 0004: the tool_approvals table matches its model on both engines and downgrades cleanly."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from sophia.store import Base, create_engine, downgrade, upgrade
from sophia.tools import ToolApprovalRow


def _differences(connection: Connection) -> list[object]:
    def only_ours(name: str | None, type_: str, parents: dict[str, str | None]) -> bool:
        table = name if type_ == "table" else parents.get("table_name")
        return type_ == "schema" or table == ToolApprovalRow.__tablename__

    def ours(item: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        table = item if type_ == "table" else getattr(item, "table", None)
        return getattr(table, "name", None) == ToolApprovalRow.__tablename__

    options = {"compare_type": True, "include_name": only_ours, "include_object": ours}
    context = MigrationContext.configure(connection, opts=options)
    return list(compare_metadata(context, Base.metadata))


async def test_tool_approvals_migration_matches_the_model_and_downgrades(database_url: str) -> None:
    await upgrade(database_url)
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
        await downgrade(database_url, "0003")
        async with engine.connect() as connection:
            names = await connection.run_sync(lambda c: sa.inspect(c).get_table_names())
        assert "tool_approvals" not in names and "audit_log" in names
    finally:
        await engine.dispose()
