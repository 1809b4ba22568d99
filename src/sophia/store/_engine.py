"""Async engines for SQLite (embedded default) and PostgreSQL, and the `Database` handle other layers hold."""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from sophia.config import redact_url
from sophia.errors import ConfigError, StorageError
from sophia.observability import redactor

__all__ = ["SQLITE_PRAGMAS", "Database", "create_engine", "normalize_url", "storage_errors"]

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=5000",
    "PRAGMA synchronous=NORMAL",
)
"""Set on every SQLite connection: concurrent readers, enforced foreign keys, waiting instead of failing."""

_POSTGRES_CONNECT_TIMEOUT = 10.0
_UNDEFINED_TABLE = "42P01"  # PostgreSQL SQLSTATE
_CONNECT_FAILURES = (ConnectionError, socket.gaierror, TimeoutError, exc.OperationalError, exc.InterfaceError)


def normalize_url(url: str) -> URL:
    """Parse a database URL and pick the async driver: aiosqlite for SQLite, asyncpg for PostgreSQL."""
    try:
        parsed = make_url(url)
    except exc.ArgumentError:
        raise ConfigError(
            f"storage.url {redact_url(url)!r} is not a database URL; "
            "use sqlite+aiosqlite:///path/to/sophia.db or postgresql://user@host/dbname"
        ) from None
    backend, _, driver = parsed.drivername.partition("+")
    if backend == "sqlite" and driver in ("", "pysqlite", "aiosqlite"):
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif backend in ("postgresql", "postgres") and driver in ("", "asyncpg"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    else:
        raise ConfigError(
            f"storage.url uses {parsed.drivername!r}, which Sophia does not support; "
            "use sqlite+aiosqlite:// or postgresql+asyncpg://"
        )
    if parsed.password:
        redactor.add(str(parsed.password))
    return parsed


def _sqlite_file(url: URL) -> Path | None:
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:") or url.query.get("mode") == "memory":
        return None
    return Path(database)


def private_sqlite_file(path: Path) -> None:
    """Create the database file 0600 (SQLite gives its WAL and SHM files the same mode) in a 0700 directory.

    The file holds key hashes, sessions, memories and conversations; a new directory is made 0700 for the same
    reason. An existing file or directory keeps the mode its owner gave it.
    """
    path = path.expanduser()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


def _prepare_sqlite_directory(url: URL, shown: str) -> None:
    path = _sqlite_file(url)
    if path is None:
        return
    try:
        private_sqlite_file(path)
    except OSError as error:
        raise StorageError(
            f"cannot create the directory {path.parent} for the SQLite database {shown} "
            f"({error.strerror}); check storage.url and the directory's permissions"
        ) from None


def _set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """An async engine for `url` with Sophia's connection settings; nothing connects until first use."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        _prepare_sqlite_directory(parsed, redact_url(url))
        engine = create_async_engine(parsed, echo=echo)
        event.listen(engine.sync_engine, "connect", _set_sqlite_pragmas)
        return engine
    return create_async_engine(
        parsed, echo=echo, pool_pre_ping=True, connect_args={"timeout": _POSTGRES_CONNECT_TIMEOUT}
    )


def _reason(error: BaseException) -> str:
    """The driver's first line, without SQLAlchemy's decoration and without any password."""
    source = getattr(error, "orig", None) or error
    text = str(source).strip().splitlines()[0] if str(source).strip() else type(source).__name__
    return redactor.redact(redact_url(text))


def _is_missing_table(error: BaseException) -> bool:
    orig = getattr(error, "orig", None)
    if getattr(orig, "sqlstate", None) == _UNDEFINED_TABLE:
        return True
    return "no such table" in str(orig if orig is not None else error)


@contextmanager
def storage_errors(url: str) -> Iterator[None]:
    """Turn 'cannot connect' and 'not migrated' driver errors into one StorageError sentence."""
    shown = redact_url(url)
    try:
        yield
    except (*_CONNECT_FAILURES, exc.DBAPIError) as error:
        if _is_missing_table(error):
            raise StorageError(
                f"the database {shown} is missing Sophia's tables ({_reason(error)}); run `sophia db upgrade`"
            ) from None
        connect_failed = isinstance(error, _CONNECT_FAILURES) or getattr(error, "statement", "") is None
        if not connect_failed:
            raise
        raise StorageError(
            f"cannot reach the database {shown} ({_reason(error)}); "
            "check storage.url (SOPHIA_STORAGE__URL) and that the database server is running"
        ) from None


class Database:
    """An engine plus a session factory: the one object other layers hold to reach the database."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.engine = create_engine(url, echo=echo)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def display_url(self) -> str:
        """The URL with its password hidden, safe for logs and messages."""
        return redact_url(self.url)

    @property
    def dialect(self) -> str:
        """'sqlite' or 'postgresql'."""
        return self.engine.dialect.name

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session; the caller commits. Connection failures surface as StorageError."""
        with storage_errors(self.url):
            async with self._sessions() as session:
                yield session

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside a transaction that commits on success and rolls back on error."""
        async with self.session() as session, session.begin():
            yield session

    async def ping(self) -> None:
        """Raise StorageError unless the database answers."""
        with storage_errors(self.url):
            async with self.engine.connect() as connection:
                await connection.execute(sa.text("SELECT 1"))

    async def close(self) -> None:
        await self.engine.dispose()

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()
