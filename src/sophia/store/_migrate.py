"""Alembic migrations shipped inside the package and run on the async engine; no alembic.ini needed."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Literal, TypeVar

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy.engine import Connection

from sophia.config import redact_url
from sophia.errors import InvalidInput, StorageError
from sophia.store._engine import Database, create_engine, storage_errors

__all__ = [
    "MIGRATIONS_DIR",
    "current_revision",
    "downgrade",
    "head_revision",
    "is_up_to_date",
    "known_revisions",
    "migration_state",
    "upgrade",
]

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_POSTGRES_MIGRATION_LOCK = 0x50_48_49_41  # pg_advisory_xact_lock key: replicas upgrading at once take turns

T = TypeVar("T")


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    return config


def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


def head_revision() -> str:
    """The newest revision this version of Sophia ships."""
    head = _script().get_current_head()
    if head is None:
        raise StorageError("no migrations are shipped with this installation of Sophia; reinstall it")
    return head


def known_revisions() -> list[str]:
    """Every shipped revision, oldest first."""
    return [rev.revision for rev in reversed(list(_script().walk_revisions()))]


def _check_known(revision: str | None, url: str) -> None:
    if revision is not None and revision not in known_revisions():
        raise StorageError(
            f"the database {redact_url(url)} is at migration {revision!r}, which this version of Sophia "
            "does not know; run a newer Sophia against it or restore a backup"
        )


def _check_target(revision: str) -> None:
    targets = {"head", "base", *known_revisions()}
    if revision not in targets and not revision.startswith(("+", "-")):
        raise InvalidInput(
            f"unknown migration revision {revision!r}; use one of: {', '.join(sorted(targets))}"
        )


async def _on_connection(url: str, work: Callable[[Connection], T]) -> T:
    """Run `work` on one committed connection; SQLite foreign keys are off so rebuilds cannot cascade."""
    engine = create_engine(url)
    try:
        with storage_errors(url):
            async with engine.connect() as connection:
                sqlite = connection.dialect.name == "sqlite"
                if sqlite:
                    await connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
                elif connection.dialect.name == "postgresql":
                    await connection.execute(
                        sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _POSTGRES_MIGRATION_LOCK}
                    )
                result = await connection.run_sync(work)
                await connection.commit()
                if sqlite:
                    await connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                return result
    finally:
        await engine.dispose()


def _read_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def migration_state(database: Database) -> Literal["current", "pending", "ahead"]:
    """Where a running server's database stands against this code, on the server's own engine (probes are cheap).

    "ahead": a newer release has migrated it. Migrations stay backward compatible for one release, so old pods keep
    serving beside new ones during a rolling upgrade instead of turning unready the moment the hook Job runs.
    """
    with storage_errors(database.url):
        async with database.engine.connect() as connection:
            revision = await connection.run_sync(_read_revision)
    if revision == head_revision():
        return "current"
    return "pending" if revision is None or revision in _shipped() else "ahead"


@functools.cache
def _shipped() -> frozenset[str]:
    return frozenset(known_revisions())


async def current_revision(url: str) -> str | None:
    """The revision the database is at, or None when it was never migrated."""
    return await _on_connection(url, _read_revision)


def _alembic(url: str, action: Callable[[Config], None]) -> Callable[[Connection], None]:
    def work(connection: Connection) -> None:
        _check_known(_read_revision(connection), url)
        config = _config()
        config.attributes["connection"] = connection
        try:
            action(config)
        except CommandError as error:
            raise InvalidInput(f"migration failed: {error}") from None

    return work


async def upgrade(url: str, revision: str = "head") -> None:
    """Apply migrations up to `revision`; a no-op when already there."""
    _check_target(revision)
    await _on_connection(url, _alembic(url, lambda config: command.upgrade(config, revision)))


async def downgrade(url: str, revision: str) -> None:
    """Undo migrations down to `revision` ('base' removes every table). Data in dropped tables is lost."""
    _check_target(revision)
    await _on_connection(url, _alembic(url, lambda config: command.downgrade(config, revision)))


async def is_up_to_date(url: str) -> bool:
    """True when the database is at the newest shipped revision."""
    return await current_revision(url) == head_revision()
