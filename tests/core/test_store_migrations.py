"""Migrations: up to head, all the way down and up again, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

import sophia.accounts  # noqa: F401  (registers the users and api_keys models on Base.metadata)
import sophia.bi  # noqa: F401  (the stored BI reports)
import sophia.business  # noqa: F401  (the unified business tables)
import sophia.connectors  # noqa: F401  (and the connector tables)
from sophia.errors import InvalidInput, StorageError
from sophia.store import (
    Base,
    create_engine,
    current_revision,
    downgrade,
    head_revision,
    is_up_to_date,
    known_revisions,
    upgrade,
)

CORE_TABLES = {"users", "api_keys", "audit_log"}


async def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            names = await connection.run_sync(lambda c: sa.inspect(c).get_table_names())
    finally:
        await engine.dispose()
    return set(names)


def test_revisions_form_one_chain_starting_at_0001() -> None:
    revisions = known_revisions()
    assert revisions[0] == "0001"
    assert head_revision() == revisions[-1]


async def test_upgrade_then_downgrade_to_base_then_upgrade_again(database_url: str) -> None:
    await upgrade(database_url)
    assert CORE_TABLES <= await _tables(database_url)
    assert await current_revision(database_url) == head_revision()

    await downgrade(database_url, "base")
    assert not CORE_TABLES & await _tables(database_url)
    assert await current_revision(database_url) is None

    await upgrade(database_url)
    assert CORE_TABLES <= await _tables(database_url)


async def test_is_up_to_date_is_false_before_and_true_after_upgrade(database_url: str) -> None:
    assert await current_revision(database_url) is None
    assert not await is_up_to_date(database_url)
    await upgrade(database_url)
    assert await is_up_to_date(database_url)


async def test_upgrading_twice_changes_nothing(database_url: str) -> None:
    await upgrade(database_url)
    before = await _tables(database_url)
    await upgrade(database_url)
    assert await _tables(database_url) == before
    assert await is_up_to_date(database_url)


def _modelled(name: str | None, type_: str, parent_names: dict[str, str | None]) -> bool:
    """Compare only the tables that have an imported ORM model (FTS and other layers' tables are theirs)."""
    if type_ == "schema":
        return True
    table = name if type_ == "table" else parent_names.get("table_name")
    return table in Base.metadata.tables


def _schema_differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True, "include_name": _modelled})
    return list(compare_metadata(context, Base.metadata))


async def test_migrations_match_the_orm_models(database_url: str) -> None:
    await upgrade(database_url)
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(_schema_differences)
    finally:
        await engine.dispose()
    assert differences == []


def _constraint_names(connection: Connection) -> tuple[list[str | None], set[str | None], set[str | None]]:
    inspector = sa.inspect(connection)
    foreign = [fk["name"] for fk in inspector.get_foreign_keys("api_keys")]
    unique = {uq["name"] for uq in inspector.get_unique_constraints("users")}
    indexes = {ix["name"] for ix in inspector.get_indexes("api_keys")}
    return foreign, unique, indexes


async def test_constraint_names_are_the_same_on_both_engines(database_url: str) -> None:
    await upgrade(database_url)
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            foreign, unique, indexes = await connection.run_sync(_constraint_names)
    finally:
        await engine.dispose()
    assert foreign == ["fk_api_keys_user_id_users"]
    assert unique == {"uq_users_name", "uq_users_email"}
    assert {"ix_api_keys_prefix", "ix_api_keys_user_id"} <= indexes


@pytest.mark.parametrize("revision", ["9999", "latest", "0001abc"])
async def test_an_unknown_target_revision_is_invalid_input(database_url: str, revision: str) -> None:
    with pytest.raises(InvalidInput, match="unknown migration revision"):
        await upgrade(database_url, revision)
    assert await current_revision(database_url) is None


async def test_a_database_from_a_newer_sophia_is_refused(database_url: str) -> None:
    await upgrade(database_url)
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    finally:
        await engine.dispose()
    with pytest.raises(StorageError, match="'9999', which this version of Sophia does not know"):
        await upgrade(database_url)
    assert not await is_up_to_date(database_url)


async def test_downgrade_to_base_keeps_foreign_keys_on_for_later_connections(sqlite_url: str) -> None:
    await upgrade(sqlite_url)
    await downgrade(sqlite_url, "base")
    await upgrade(sqlite_url)
    engine = create_engine(sqlite_url)
    try:
        async with engine.connect() as connection:
            assert (await connection.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
    finally:
        await engine.dispose()
