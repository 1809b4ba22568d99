"""Fixtures for the MCP tests: a migrated SQLite database, a runtime on it, and the external fixture server."""

from __future__ import annotations

import shutil
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from sophia.config import Settings
from sophia.mcp import McpRuntime, McpServerSettings, open_runtime
from sophia.store import Database

FIXTURE_SERVER = Path(__file__).with_name("fixture_server.py")


def fixture_server(**overrides: Any) -> McpServerSettings:
    """The `[[mcp_servers]]` entry for tests/mcp/fixture_server.py."""
    values: dict[str, Any] = {
        "name": "fx",
        "command": sys.executable,
        "args": [str(FIXTURE_SERVER)],
        "timeout_seconds": 10,
    }
    return McpServerSettings.model_validate({**values, **overrides})


@pytest.fixture
def sqlite_database_url(tmp_path: Path, _sqlite_template: Path) -> str:
    """SQLite only: memory's keyword index is SQLite FTS5 (memory has its own PostgreSQL tests)."""
    target = tmp_path / "db" / "sophia.db"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_sqlite_template, target)
    return f"sqlite+aiosqlite:///{target}"


@pytest.fixture
async def database(sqlite_database_url: str) -> AsyncIterator[Database]:
    db = Database(sqlite_database_url)
    yield db
    await db.close()


@pytest.fixture
async def runtime(database: Database, tmp_path: Path) -> AsyncIterator[McpRuntime]:
    """Built-in and memory tools with the hashing embedder (fast, offline)."""
    built = await open_runtime(Settings(home=tmp_path), database, embedder="hashing")
    yield built
    await built.aclose()
