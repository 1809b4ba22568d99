"""Fixtures for the whole suite: an isolated SOPHIA_HOME, no outbound network, and databases on both engines."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import shutil
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

_POSTGRES_DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


# --- environment isolation -------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _isolated_sophia_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets its own SOPHIA_HOME and none of the developer's SOPHIA_* settings.

    SOPHIA_TEST_* variables stay: they point the suite at test servers.
    """
    for name in list(os.environ):
        if name.startswith("SOPHIA_") and not name.startswith("SOPHIA_TEST_"):
            monkeypatch.delenv(name)
    home = tmp_path / "sophia-home"
    home.mkdir()
    monkeypatch.setenv("SOPHIA_HOME", str(home))
    return home


@pytest.fixture(autouse=True)
def _fresh_redactor() -> Iterator[None]:
    """The redactor is process-wide: a secret one test registered must not mangle the next test's text."""
    from sophia.observability import redactor

    yield
    redactor.clear()


# --- no outbound network ---------------------------------------------------------------------------------


class OutboundNetworkBlocked(OSError):
    """A test tried to reach a host other than this machine."""


def _is_loopback(host: Any) -> bool:
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    host = str(host).strip("[]").lower()
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _check_address(address: Any) -> None:
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return
    if isinstance(address, tuple) and address and not _is_loopback(address[0]):
        raise OutboundNetworkBlocked(f"tests may only connect to 127.0.0.1/localhost/::1, not {address[0]!r}")


@pytest.fixture(autouse=True)
def _no_outbound_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test can reach a paid API or the internet: only loopback addresses may be resolved or connected to."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def connect(self: socket.socket, address: Any) -> None:
        _check_address(address)
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        _check_address(address)
        return real_connect_ex(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not _is_loopback(host):
            raise OutboundNetworkBlocked(f"tests may only resolve localhost, not {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


# --- databases on both engines ---------------------------------------------------------------------------


def _postgres_admin_url() -> str:
    return os.environ.get("SOPHIA_TEST_POSTGRES_URL", _POSTGRES_DEFAULT_URL)


def _asyncpg_dsn(url: str) -> str:
    """asyncpg takes plain postgresql:// DSNs; drop any SQLAlchemy driver suffix."""
    scheme, rest = url.split("://", 1)
    return f"postgresql://{rest}" if scheme.startswith(("postgresql", "postgres")) else url


async def _postgres_admin(statement: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(_asyncpg_dsn(_postgres_admin_url()), timeout=5)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def postgres_available() -> str | None:
    """None when the test PostgreSQL answers, else why not; probed once per session."""
    try:
        asyncio.run(_postgres_admin("SELECT 1"))
    except Exception as error:  # any failure means "not available"; the reason is shown in the skip
        return f"{type(error).__name__}: {error}"
    return None


def _require_postgres(reason: str | None) -> None:
    if reason is None:
        return
    message = f"PostgreSQL at {_postgres_admin_url()} is not reachable ({reason})"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message}; CI must run the PostgreSQL tests", pytrace=False)
    pytest.skip(f"{message}; set SOPHIA_TEST_POSTGRES_URL or start a server")


def _postgres_url_for(name: str) -> str:
    base = _asyncpg_dsn(_postgres_admin_url()).rpartition("/")[0]
    return f"postgresql+asyncpg://{base.split('://', 1)[1]}/{name}"


def _unique_name(kind: str) -> str:
    return f"sophia_{kind}_{uuid.uuid4().hex[:16]}"


@contextmanager
def _postgres_database(template: str | None = None) -> Iterator[str]:
    name = _unique_name("test")
    suffix = f' TEMPLATE "{template}"' if template else ""
    asyncio.run(_postgres_admin(f'CREATE DATABASE "{name}"{suffix}'))
    try:
        yield name
    finally:
        asyncio.run(_postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def postgres_url(postgres_available: str | None) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    _require_postgres(postgres_available)
    with _postgres_database() as name:
        yield _postgres_url_for(name)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A path for a fresh SQLite database (the file does not exist yet)."""
    return f"sqlite+aiosqlite:///{tmp_path / 'db' / 'sophia.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """An empty database, once on SQLite and once on PostgreSQL."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    url: str = request.getfixturevalue(fixture)
    return url


# Creating and migrating a PostgreSQL database takes seconds on a busy machine, so migrated tests share one
# database per session, emptied after each test (TRUNCATE ... RESTART IDENTITY). SQLite tests get a copy of a
# template file migrated once per session. Tests that change the schema must use `database_url` instead.


@pytest.fixture(scope="session")
def _postgres_shared(postgres_available: str | None) -> Iterator[str]:
    from sophia.store import upgrade

    _require_postgres(postgres_available)
    with _postgres_database() as name:
        url = _postgres_url_for(name)
        asyncio.run(upgrade(url))
        yield url


async def _empty_postgres(url: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(_asyncpg_dsn(url), timeout=5)
    try:
        await connection.execute("SET lock_timeout = '10s'")
        tables = await connection.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
        )
        probes = " UNION ALL ".join(
            f"SELECT '{row['tablename']}' WHERE EXISTS (SELECT 1 FROM \"{row['tablename']}\")"
            for row in tables
        )
        used = [record[0] for record in await connection.fetch(probes)] if tables else []
        if used:  # emptying only the tables a test wrote to is much faster than all of them
            await _delete_rows(connection, used)
    finally:
        await connection.close()


async def _delete_rows(connection: Any, tables: list[str]) -> None:
    """DELETE with foreign-key triggers off (superuser) is cheaper than TRUNCATE; fall back to TRUNCATE."""
    import asyncpg

    try:
        async with connection.transaction():
            await connection.execute("SET LOCAL session_replication_role = replica")
            for name in tables:
                await connection.execute(f'DELETE FROM "{name}"')
    except asyncpg.InsufficientPrivilegeError:
        names = ", ".join(f'"{name}"' for name in tables)
        await connection.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from sophia.store import upgrade

    path = tmp_path_factory.mktemp("sqlite-template") / "sophia.db"
    asyncio.run(upgrade(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def migrated_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database already migrated to head, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        target = tmp_path / "db" / "sophia.db"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), target)
        yield f"sqlite+aiosqlite:///{target}"
        return
    url: str = request.getfixturevalue("_postgres_shared")
    try:
        yield url
    finally:
        asyncio.run(_empty_postgres(url))


@pytest.fixture
async def database(migrated_database_url: str) -> AsyncIterator[Any]:
    """A `sophia.store.Database` at head, on both engines; closed after the test."""
    from sophia.store import Database

    db = Database(migrated_database_url)
    try:
        yield db
    finally:
        await db.close()
