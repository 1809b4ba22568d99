"""SIGTERM on a real `sophia serve`: readiness drops first, accepted requests finish, the ledger is flushed."""

from __future__ import annotations

import signal
import sqlite3
import threading
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from sophia.store import Database, head_revision, migration_state, upgrade
from tests.gateway.fault_server import running_fault_server
from tests.serving import clean_env, create_key, running_sophia

CONFIG = """
[server]
drain_seconds = 3
graceful_shutdown_seconds = 20

[[providers]]
name = "upstream"
kind = "openai-compatible"
base_url = "{base_url}"
api_key = "env:UPSTREAM_KEY"

[[models]]
name = "slow"
provider = "upstream"
model = "slow-2500"
input_price = 1.0
output_price = 2.0
"""


@pytest.mark.timeout(600)  # `sophia` commands and a server start, slow on a loaded machine
def test_sigterm_drains_then_lets_accepted_requests_finish(tmp_path: Path) -> None:
    with running_fault_server() as (base_url, _):
        config = tmp_path / "sophia.toml"
        config.write_text(CONFIG.format(base_url=base_url), encoding="utf-8")
        env = clean_env(tmp_path, SOPHIA_CONFIG=str(config), UPSTREAM_KEY="upstream-key")
        key = create_key(env, "alice")
        headers = {"authorization": f"Bearer {key}"}
        body = {"model": "slow", "messages": [{"role": "user", "content": "hi"}]}
        answers: list[httpx.Response] = []

        def call() -> None:
            answers.append(
                httpx.post(f"{server.url}/v1/chat/completions", json=body, headers=headers, timeout=60)
            )

        with running_sophia(env, tmp_path, serve_args=("--only", "gateway")) as server:
            assert httpx.get(f"{server.url}/readyz").status_code == 200
            before = threading.Thread(target=call)
            before.start()
            time.sleep(0.5)  # accepted, waiting on the slow upstream
            server.process.send_signal(signal.SIGTERM)
            time.sleep(0.3)
            ready = httpx.get(f"{server.url}/readyz")
            assert ready.status_code == 503 and ready.json()["status"] == "draining"
            during = threading.Thread(target=call)  # a load balancer may still send during the drain
            during.start()
            before.join(timeout=60)
            during.join(timeout=60)
            assert server.process.wait(timeout=60) == -signal.SIGTERM or server.process.returncode == 0
        assert [a.status_code for a in answers] == [200, 200]
        ids = [a.headers["x-request-id"] for a in answers]
        with sqlite3.connect(tmp_path / "sophia.db") as db:
            stored = {row[0] for row in db.execute("SELECT id FROM usage_requests")}
        assert set(ids) <= stored  # the ledger was flushed on the way out
        assert "draining" in server.log()


@pytest.mark.parametrize("revision", ["0001", None, "9999_from_a_newer_release"])
async def test_readiness_tolerates_a_database_migrated_by_a_newer_release(
    tmp_path: Path, revision: str | None
) -> None:
    """Old pods stay ready while new pods run beside them (migrations are backward compatible for one release)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"
    await upgrade(url)
    database = Database(url)
    try:
        assert await migration_state(database) == "current"
        async with database.engine.begin() as connection:
            if revision is None:
                await connection.execute(sa.text("DELETE FROM alembic_version"))
            else:
                await connection.execute(
                    sa.text("UPDATE alembic_version SET version_num = :v"), {"v": revision}
                )
        expected = "ahead" if revision and revision.startswith("9999") else "pending"
        assert await migration_state(database) == expected
        assert head_revision() != revision
    finally:
        await database.close()
