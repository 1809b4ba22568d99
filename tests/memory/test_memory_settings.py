"""`[memory]` in `sophia.toml`: the CLI opens the backends it names (Redis, pgvector, Qdrant), and `config check`
refuses the ones the rest of the settings cannot give.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from sophia.cli import app
from sophia.store import Database
from tests.memory._helpers import PgVectorServer

runner = CliRunner()
REDIS_URL = os.environ.get("SOPHIA_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def cli(home: Path, toml: str, *args: str, code: int = 0, **env: str) -> str:
    (home / "sophia.toml").write_text(toml, encoding="utf-8")
    result = runner.invoke(app, ["--config", str(home / "sophia.toml"), *args], env=env)
    assert result.exit_code == code, result.output
    return result.output


def memory(home: Path, toml: str, *args: str, **env: str) -> str:
    return cli(home, toml, "memory", "--embedder", "hashing", *args, **env)


@pytest.fixture
def home(_isolated_sophia_home: Path) -> Path:
    return _isolated_sophia_home


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as error:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Redis at {REDIS_URL} is not reachable ({error}); CI must run the Redis tests")
        pytest.skip(f"Redis at {REDIS_URL} is not reachable ({error})")
    prefix = f"sophia-test:{uuid.uuid4().hex}"
    yield prefix
    for key in client.scan_iter(match=f"{prefix}:*"):
        client.delete(key)
    client.close()


def test_cache_redis_shares_recalls_through_the_configured_redis(home: Path, redis_prefix: str) -> None:
    import redis

    toml = f'[memory]\ncache = "redis"\nredis_url = "env:MEMORY_REDIS"\nredis_prefix = "{redis_prefix}"\n'
    memory_id = memory(home, toml, "add", "backups run at two", MEMORY_REDIS=REDIS_URL).strip()
    assert memory_id in memory(home, toml, "search", "backups", MEMORY_REDIS=REDIS_URL)
    client = redis.Redis.from_url(REDIS_URL)
    assert client.get(f"{redis_prefix}:gen:global") == b"1"  # the write moved the namespace's generation on
    assert list(client.scan_iter(match=f"{redis_prefix}:recall:*"))  # and the recall was cached in Redis
    client.close()


def test_index_pgvector_keeps_vectors_in_the_postgresql_storage(
    home: Path, pgvector_server: PgVectorServer
) -> None:
    url = pgvector_server.database()  # empty: the CLI upgrades it (server.upgrade_on_start)
    toml = '[storage]\nurl = "env:MEMORY_DB"\n[memory]\nindex = "pgvector"\n'
    memory_id = memory(home, toml, "add", "the canary runs in eu-west", MEMORY_DB=url).strip()
    assert memory_id in memory(home, toml, "search", "canary eu-west", MEMORY_DB=url)
    assert json.loads(memory(home, toml, "stats", MEMORY_DB=url))["vectors"] == 1

    async def stored() -> list[str]:
        async with Database(url) as database, database.engine.connect() as conn:
            rows = await conn.execute(sa.text("SELECT memory_id FROM memory_vectors_384"))
            return [row[0] for row in rows]

    assert asyncio.run(stored()) == [memory_id]


def test_index_qdrant_in_local_mode_holds_the_vectors(home: Path) -> None:
    toml = '[memory]\nindex = "qdrant"\nqdrant_path = "qdrant"\nqdrant_collection = "notes"\n'
    memory_id = memory(home, toml, "add", "the staging cluster is called moss").strip()
    assert memory_id in memory(home, toml, "search", "staging cluster")
    from qdrant_client import QdrantClient

    client = QdrantClient(path=str(home / "qdrant"))
    try:
        assert client.count("notes_384", exact=True).count == 1
    finally:
        client.close()


@pytest.mark.parametrize(
    ("toml", "env", "expected"),
    [
        ('[memory]\nindex = "pgvector"\n', {}, 'memory.index: "pgvector" keeps vectors in PostgreSQL'),
        (
            '[storage]\nurl = "env:MEMORY_DB"\n[memory]\nindex = "pgvector"\n',
            {"MEMORY_DB": "sqlite+aiosqlite:///x.db"},
            "but storage is SQLite",
        ),
        ('[memory]\nindex = "qdrant"\n', {}, 'memory.qdrant_url: required when memory.index = "qdrant"'),
        ('[memory]\ncache = "redis"\n', {}, "memory.redis_url: required"),
        ('[memory]\ncache = "redis"\nredis_url = "env:NOT_SET_ANYWHERE"\n', {}, "memory.redis_url:"),
        ('[memory]\nredis_url = "redis://:hunter2@cache:6379"\n', {}, "this URL holds a password"),
        ('[memory]\nconsolidate_every = "soon"\n', {}, "memory.consolidate_every: Value error"),
        ('[memory]\nindex = "faiss"\n', {}, "memory.index:"),
    ],
)
def test_config_check_refuses_memory_backends_the_settings_cannot_give(
    home: Path, toml: str, env: dict[str, str], expected: str
) -> None:
    out = cli(home, toml, "config", "check", code=2, **env)
    assert expected in out and "hunter2" not in out


def test_config_check_accepts_a_whole_memory_section(home: Path) -> None:
    toml = (
        '[memory]\nindex = "qdrant"\nqdrant_url = "http://127.0.0.1:6333"\ncache = "redis"\n'
        'redis_url = "env:MEMORY_REDIS"\nconsolidate_every = "off"\n'
    )
    assert "settings are valid" in cli(home, toml, "config", "check", MEMORY_REDIS=REDIS_URL)
    shown = json.loads(cli(home, toml, "config", "show", MEMORY_REDIS=REDIS_URL))
    assert shown["memory"]["consolidate_every"] == 0 and shown["memory"]["redis_url"] == "env:MEMORY_REDIS"
