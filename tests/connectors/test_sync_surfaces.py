"""`sophia sync` as a user runs it: a real process synced from the Linear stand-in, killed mid-sync and rerun."""

from __future__ import annotations

import json
import signal
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.connectors.linear_standin import TOKEN, LinearStandIn
from tests.serving import clean_env, serve_app, sophia, sophia_process

ISSUES, PAGE = 130, 20


@pytest.fixture
def standin() -> Iterator[tuple[LinearStandIn, str]]:
    service = LinearStandIn()
    service.seed(ISSUES)
    with serve_app(service.app()) as url:
        yield service, url


@pytest.fixture
def env(tmp_path: Path, standin: tuple[LinearStandIn, str]) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir()
    (home / "sophia.toml").write_text(
        f'[connectors.linear]\nbase_url = "{standin[1]}"\ncredentials = {{ token = "env:LINEAR_TOKEN" }}\n'
        f'sync_every = "15m"\noptions = {{ sync_page_size = {PAGE} }}\n'
    )
    return clean_env(home, LINEAR_TOKEN=TOKEN, COLUMNS="200")


def _counts(home: Path) -> dict[str, int]:
    with sqlite3.connect(home / "sophia.db") as db:
        one = lambda sql: int(db.execute(sql).fetchone()[0])  # noqa: E731
        ns = "namespace = 'connector:linear'"
        return {
            "memories": one(f"SELECT count(*) FROM memories WHERE {ns}"),
            "distinct": one(
                f"SELECT count(DISTINCT json_extract(metadata, '$.id')) FROM memories WHERE {ns}"
            ),
            "work_items": one("SELECT count(*) FROM biz_work_items WHERE source = 'linear'"),
            "records": one("SELECT count(*) FROM sync_records WHERE connector = 'linear'"),
        }


def test_a_sync_killed_mid_run_resumes_from_its_cursor_and_duplicates_nothing(
    env: dict[str, str], standin: tuple[LinearStandIn, str]
) -> None:
    service, _ = standin
    service.hold_after = 3
    home = Path(env["SOPHIA_HOME"])
    with sophia_process(env, home / "sync.log", "sync", "linear", "--embedder", "hashing") as process:
        assert service.held.wait(timeout=240), "the sync never reached its fourth page"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    killed = _counts(home)
    assert killed == {"memories": 3 * PAGE, "distinct": 3 * PAGE, "work_items": 3 * PAGE, "records": 3 * PAGE}

    status = json.loads(sophia(env, "sync", "status", "--json").stdout)
    (stream,) = status[0]["streams"]
    assert stream["in_progress"] and stream["pages"] == 3

    service.release.set()
    before = len(service.requests)
    rerun = sophia(env, "sync", "linear", "--embedder", "hashing")
    assert f"{ISSUES - 3 * PAGE} written" in rerun.stdout
    resumed = service.requests[before]["body"]["variables"]
    assert resumed["after"] is not None  # continued from the committed cursor, not from the first page
    assert _counts(home) == {"memories": ISSUES, "distinct": ISSUES, "work_items": ISSUES, "records": ISSUES}

    full = sophia(env, "sync", "linear", "--full", "--embedder", "hashing")
    assert "0 written, 0 updated, 0 deleted" in full.stdout and f"{ISSUES} unchanged" in full.stdout
    assert _counts(home)["memories"] == ISSUES


def test_status_lists_every_syncable_connector_and_a_bad_name_is_a_clear_error(env: dict[str, str]) -> None:
    status = json.loads(sophia(env, "sync", "status", "--json").stdout)
    assert status == [
        {
            "connector": "linear",
            "every_seconds": 900.0,
            "streams": [{"stream": "issues", "last_run_at": None}],
        }
    ]
    wrong = sophia(env, "sync", "lineer", check=False)
    assert wrong.returncode == 2 and 'did you mean "linear"' in wrong.stderr
    stream = sophia(env, "sync", "linear", "--stream", "tickets", check=False)
    assert stream.returncode == 2 and "has no stream 'tickets'; it has issues" in stream.stderr
