"""Memory across real `sophia` processes: a CLI write is recalled by a running server, forgetting runs on its own.

Each process keeps its own NumPy index and LRU; the database's generation clock is all they share.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from sophia.cli import app
from tests.serving import clean_env, free_port, running_sophia, sophia

pytestmark = pytest.mark.timeout(600)  # several `sophia` processes, each loading the embedding model

FACT = "The quarterly budget meeting is on Friday afternoon"
QUESTION = "when do we review the finances"


def _recall(url: str, key: str, query: str) -> list[dict[str, object]]:
    response = httpx.post(
        f"{url}/v1/memory/recall",
        json={"query": query, "namespaces": ["global"]},
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    hits: list[dict[str, object]] = response.json()["data"]
    return hits


def _admin_key(env: dict[str, str]) -> str:
    """An admin and a key, made in this process (the server under test is the only other process needed)."""
    runner = CliRunner()
    assert runner.invoke(app, ["users", "create", "ada", "--admin"], env=env).exit_code == 0
    created = runner.invoke(app, ["keys", "create", "--user", "ada"], env=env)
    return next(word for word in created.output.split() if word.startswith("sph_"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def storage_env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    (tmp_path / "home").mkdir()
    extra = {"SOPHIA_SERVER__RUN_WORKER": "false"}
    if request.param == "postgres":
        extra["SOPHIA_STORAGE__URL"] = request.getfixturevalue("postgres_url")
    return clean_env(tmp_path / "home", **extra)


def test_a_memory_added_by_the_cli_is_recalled_by_a_running_server_by_meaning(
    storage_env: dict[str, str], tmp_path: Path
) -> None:
    key = _admin_key(storage_env)
    with running_sophia(storage_env, tmp_path / "home") as server:
        assert _recall(server.url, key, QUESTION) == []  # the server's index and cache are warm, and empty
        memory_id = sophia(storage_env, "memory", "add", FACT).stdout.strip()
        hits = _recall(server.url, key, QUESTION)
        assert [h["memory"]["id"] for h in hits] == [memory_id]  # type: ignore[index]
        assert hits[0]["reasons"]["vector_rank"] == 1  # type: ignore[index]
        sophia(storage_env, "memory", "forget", memory_id, "--hard")
        assert _recall(server.url, key, QUESTION) == []


def _closed_rows(home: Path) -> int:
    with sqlite3.connect(home / "sophia.db") as conn:
        return int(conn.execute("SELECT count(*) FROM memories WHERE valid_until IS NOT NULL").fetchone()[0])


def _wait_for_merge(home: Path, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90  # a generous bound on start-up on a busy machine, not a timing assertion
    while time.monotonic() < deadline and _closed_rows(home) == 0:
        assert process.poll() is None, log.read_text(errors="replace")[-2000:]
        time.sleep(0.5)


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_a_running_server_or_worker_consolidates_on_its_schedule(command: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "sophia.toml").write_text('[memory]\nconsolidate_every = "1s"\n', encoding="utf-8")
    env = clean_env(home, SOPHIA_SERVER__RUN_WORKER="false")
    first = sophia(env, "memory", "add", "deploys freeze on Fridays").stdout.strip()
    second = sophia(env, "memory", "add", "deploys freeze on Fridays").stdout.strip()
    log = home / f"{command}.log"
    args = ["serve", "--port", str(free_port())] if command == "serve" else ["worker"]
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "sophia", *args], env=env, stdout=out, stderr=out)
        try:
            _wait_for_merge(home, process, log)
        finally:
            process.terminate()
            process.wait(timeout=30)
    assert _closed_rows(home) == 1, log.read_text(errors="replace")[-2000:]
    assert "memory consolidated: 0 expired purged, 1 near-duplicates merged" in log.read_text()
    shown = sophia(env, "memory", "show", second).stdout
    assert '"valid_until": null' not in shown and first != second


def test_memory_consolidate_prints_what_it_merged(tmp_path: Path) -> None:
    env = {"SOPHIA_HOME": str(tmp_path / "home")}

    def cli(*args: str) -> str:
        result = CliRunner().invoke(app, ["memory", "--embedder", "hashing", *args], env=env)
        assert result.exit_code == 0, result.output
        return result.output

    kept = cli("add", "the VPN needs a hardware key").strip()
    duplicate = cli("add", "the VPN needs a hardware key").strip()
    cli("add", "lunch is at noon")
    out = cli("consolidate")
    assert "0 expired purged, 1 near-duplicate(s) merged, 0 decayed" in out
    assert f"merged {duplicate}" in out and kept not in out
    assert "0 expired purged, 0 near-duplicate(s) merged" in cli("consolidate")
