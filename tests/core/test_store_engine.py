"""The engine: SQLite pragmas, driver selection, UTC timestamps, and clear errors when the database is away."""

from __future__ import annotations

import types
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.dialects import sqlite

import sophia.store
from sophia.errors import ConfigError, StorageError
from sophia.store import AuditRow, Database, UtcDateTime, list_audit, normalize_url, record_audit, upgrade

CANARY = "hunter2-canary"


def test_public_names_are_exactly_all() -> None:
    public = {
        name
        for name, value in vars(sophia.store).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public == set(sophia.store.__all__)


async def test_sqlite_connections_use_wal_foreign_keys_and_busy_timeout(sqlite_url: str) -> None:
    async with Database(sqlite_url) as db, db.engine.connect() as connection:
        assert (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
        assert (await connection.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
        assert (await connection.exec_driver_sql("PRAGMA busy_timeout")).scalar() == 5000
        assert (await connection.exec_driver_sql("PRAGMA synchronous")).scalar() == 1  # NORMAL


async def test_sqlite_engine_creates_the_parent_directory(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "sophia.db"
    async with Database(f"sqlite:///{target}") as db:
        await db.ping()
    assert target.is_file()


async def test_sqlite_directory_that_cannot_be_created_is_a_storage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(StorageError, match="check storage.url"):
        Database(f"sqlite:///{blocker / 'sub' / 'sophia.db'}")


@pytest.mark.parametrize(
    "url",
    ["postgresql://u@h/db", "postgres://u@h/db", "postgresql+asyncpg://u@h/db"],
)
def test_every_postgres_spelling_uses_asyncpg(url: str) -> None:
    assert normalize_url(url).drivername == "postgresql+asyncpg"


@pytest.mark.parametrize("url", ["sqlite:///x.db", "sqlite+aiosqlite:///x.db", "sqlite+pysqlite:///x.db"])
def test_every_sqlite_spelling_uses_aiosqlite(url: str) -> None:
    assert normalize_url(url).drivername == "sqlite+aiosqlite"


@pytest.mark.parametrize("url", ["mysql://u:hunter2-canary@h/db", "not a url", "postgresql+psycopg2://u@h/d"])
def test_unsupported_urls_are_config_errors_without_the_password(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        normalize_url(url)
    assert CANARY not in caught.value.message
    assert "storage.url" in caught.value.message


async def test_unreachable_postgres_is_a_storage_error_with_the_password_redacted() -> None:
    url = f"postgresql://sophia:{CANARY}@127.0.0.1:1/sophia"
    async with Database(url) as db:
        with pytest.raises(StorageError) as caught:
            await db.ping()
    message = caught.value.message
    assert CANARY not in message
    assert "postgresql://sophia:***@127.0.0.1:1/sophia" in message
    assert "storage.url" in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


async def test_migrating_an_unreachable_database_is_a_storage_error() -> None:
    with pytest.raises(StorageError, match="cannot reach the database") as caught:
        await upgrade(f"postgres://sophia:{CANARY}@127.0.0.1:1/sophia")
    assert CANARY not in str(caught.value)


async def test_using_an_unmigrated_database_says_to_run_upgrade(database_url: str) -> None:
    async with Database(database_url) as db:
        with pytest.raises(StorageError, match="sophia db upgrade"):
            async with db.session() as session:
                await list_audit(session)


async def test_ping_answers_on_both_engines(database: Database) -> None:
    await database.ping()
    assert database.dialect in ("sqlite", "postgresql")


async def test_timestamps_come_back_timezone_aware_utc(database: Database) -> None:
    paris = timezone(timedelta(hours=2))
    written = datetime(2030, 5, 1, 14, 30, 15, 123456, tzinfo=paris)
    async with database.transaction() as session:
        session.add(AuditRow(at=written, action="test", target="t", detail={"k": [1, 2]}))
    async with database.session() as session:
        row = (await session.scalars(sa.select(AuditRow))).one()
    assert row.at == written
    assert row.at.tzinfo is not None and row.at.utcoffset() == timedelta(0)
    assert row.at.hour == 12
    assert row.detail == {"k": [1, 2]}


@settings(max_examples=300, deadline=None)
@given(
    moment=st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
    offset_minutes=st.integers(min_value=-14 * 60, max_value=14 * 60),
)
def test_sqlite_stores_the_text_sqlalchemy_datetime_would_and_reads_it_back(
    moment: datetime, offset_minutes: int
) -> None:
    """The fast SQLite bind of `UtcDateTime` is a shortcut: range queries compare this text, so it must match."""
    zone = timezone(timedelta(minutes=offset_minutes))
    aware = moment.replace(tzinfo=zone)
    dialect = sqlite.dialect()
    fast = UtcDateTime().bind_processor(dialect)
    generic = sa.DateTime().dialect_impl(dialect).bind_processor(dialect)
    assert fast is not None and generic is not None
    utc = aware.astimezone(UTC)
    stored = fast(aware)
    assert stored == generic(utc.replace(tzinfo=None))
    assert UtcDateTime().process_result_value(datetime.fromisoformat(stored), dialect) == utc


async def test_naive_timestamps_are_refused(database: Database) -> None:
    with pytest.raises(sa.exc.StatementError, match="naive datetime"):
        async with database.transaction() as session:
            session.add(AuditRow(at=datetime(2030, 1, 1), action="test", target="t", detail={}))


async def test_audit_records_commit_with_the_transaction_and_list_newest_first(database: Database) -> None:
    async with database.transaction() as session:
        record_audit(session, "thing.create", "thing:1", actor_user_id=7, detail={"a": 1})
        record_audit(session, "thing.delete", "thing:1", actor_key_id=3)
    with pytest.raises(RuntimeError):
        async with database.transaction() as session:
            record_audit(session, "thing.lost", "thing:2")
            raise RuntimeError("rolled back")
    async with database.session() as session:
        entries = await list_audit(session)
        only_create = await list_audit(session, action="thing.create")
    assert [e.action for e in entries] == ["thing.delete", "thing.create"]
    assert entries[1].actor_user_id == 7 and entries[1].detail == {"a": 1}
    assert entries[0].actor_key_id == 3 and entries[0].at.tzinfo is UTC
    assert [e.target for e in only_create] == ["thing:1"]
