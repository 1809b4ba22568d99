"""A code run waiting for its PR's merge survives SIGKILL of a real `sophia worker` (DBOS): the run is queued with
`sophia code --detach`, a `sophia worker` edits, pushes, opens the draft PR and polls `code.pr_state` as steps; it is
killed mid-wait; the restarted worker (same executor id, so DBOS recovers the run) goes on polling, sees the merge
the GitHub stand-in reports, holds `code.deploy` until `sophia approvals approve`, then runs the deploy command once
and checks the real health URL. One edit, one push, one pull request, one deploy."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from sophia.accounts import Principal, Role
from sophia.runs import RunService
from sophia.store import Database
from sophia.tools import ToolInvoker, ToolRegistry
from tests.coding.conftest import FIX
from tests.coding.standins import MODEL_KEY, CoderStandIn, sophia_toml
from tests.connectors.github_standin import TOKEN, GitHubStandIn
from tests.serving import clean_env, serve_app, sophia

# Real `sophia` processes (each worker loads the gateway and DBOS) start slowly on a loaded machine.
pytestmark = pytest.mark.timeout(600)

ADMIN = Principal(0, "local", Role.ADMIN, None, ("*",), None)


@pytest.fixture
def standins() -> Iterator[tuple[CoderStandIn, GitHubStandIn, dict[str, str]]]:
    coder, github = CoderStandIn(FIX), GitHubStandIn()
    app = FastAPI()

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        return JSONResponse({"ok": True})

    with serve_app(coder.app()) as model, serve_app(github.app()) as gh, serve_app(app) as health:
        yield coder, github, {"model": model, "github": gh, "health": f"{health}/healthz"}


async def _until(what: str, condition: Callable[[], Any], log: Path, seconds: float = 240) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        found = await condition()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}:\n{log.read_text()[-3000:]}"
        await asyncio.sleep(0.25)


def _worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "sophia", "worker", "--executor-id", "w1", "--concurrency", "1"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


async def test_a_run_waiting_for_the_merge_survives_a_killed_sophia_worker_and_deploys_once(
    tmp_path: Path,
    buggy_repo: tuple[Path, Path],
    standins: tuple[CoderStandIn, GitHubStandIn, dict[str, str]],
) -> None:
    repo, remote = buggy_repo
    coder, github, urls = standins
    home, deploys = tmp_path / "home", tmp_path / "deploys.log"
    home.mkdir()
    coding = f"""deploy_command = "echo deploy >> {deploys}"
deploy_health_url = "{urls["health"]}"
deploy_health_seconds = 5
merge_poll_seconds = 0.3
merge_wait_seconds = 600"""
    policy = '\n[tools]\npolicy = { "code.push" = { "*" = "auto" }, "code.pr" = { "*" = "auto" } }\n'
    config = sophia_toml(urls["model"], urls["github"], str(remote), coding=coding, extra=policy)
    (home / "sophia.toml").write_text(config)
    env = clean_env(home, CODER_KEY=MODEL_KEY, GH_TOKEN=TOKEN, COLUMNS="200")

    queued = sophia(env, "code", "add() subtracts; fix it", "--repo", str(repo), "--detach")
    run_id = re.search(r"queued code run (run_\w+)", queued.stdout)
    assert run_id is not None, queued.stdout
    database = Database(f"sqlite+aiosqlite:///{home.resolve() / 'sophia.db'}")
    system = f"sqlite:///{home.resolve() / 'dbos.sqlite'}"  # where `sophia` keeps DBOS's, beside Sophia's
    service = RunService(database, ToolInvoker(ToolRegistry(), database), system_database_url=system)
    log = tmp_path / "worker.log"

    async def polls() -> int:
        steps = (await service.detail(ADMIN, run_id.group(1))).steps
        return len([s for s in steps if s["name"] == "code.pr_state" and s["status"] == "ok"])

    async def at_least(count: int) -> Callable[[], Any]:
        async def check() -> bool:
            return await polls() >= count

        return check

    async def held_deploy() -> str | None:
        approvals = (await service.detail(ADMIN, run_id.group(1))).approvals
        return next((a.id for a in approvals if a.tool == "code.deploy" and a.status == "pending"), None)

    first = _worker(env, log)
    second: subprocess.Popen[bytes] | None = None
    try:
        await _until("two polls of the open pull request", await at_least(2), log)
        os.kill(first.pid, signal.SIGKILL)  # killed while it waits for the merge
        first.wait(10)
        before = await polls()
        assert not deploys.exists() and len(github.pulls) == 1

        second = _worker(env, log)
        await _until("the restarted worker polling on", await at_least(before + 1), log)
        github.pulls[0].update(merged=True, state="closed")  # a person merges it on GitHub
        approval = await _until("the held deploy", held_deploy, log)
        await asyncio.sleep(1.0)
        assert not deploys.exists()  # merged, but nobody approved the deploy yet

        approved = sophia(env, "approvals", "approve", approval, check=False)
        assert approved.returncode == 0, approved.stdout + approved.stderr

        async def finished() -> Any:
            run = await service.get(ADMIN, run_id.group(1))
            return run if run.status in ("succeeded", "failed", "cancelled") else None

        done = await _until("the run's end", finished, log)
        assert done.status == "succeeded", f"{done.error}\n{log.read_text()[-3000:]}"
        detail = await service.detail(ADMIN, run_id.group(1))
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(30)
        await service.aclose()
        await database.close()

    assert deploys.read_text().split() == ["deploy"]
    assert "deploy: deployed (health 200)" in (done.output or "")
    assert [s["status"] for s in detail.steps if s["name"] == "code.edit"] == ["ok"]
    assert [s["status"] for s in detail.steps if s["name"] == "code.deploy"][-1] == "ok"
    assert len((remote / "pushes.log").read_text().splitlines()) == 1
    creates = [r for r in github.received if r[:2] == ("POST", "/repos/octo/app/pulls")]
    assert len(creates) == 1 and len(github.pulls) == 1
    assert len([r for r in coder.requests if "You review" not in str(r["messages"][0]["content"])]) == 1
    assert polls_after_merge(github) >= 1 and github.mismatches == []


def polls_after_merge(github: GitHubStandIn) -> int:
    """How many `pulls.get` reads the stand-in answered (the worker's polls that reached GitHub)."""
    return len(
        [r for r in github.received if r[0] == "GET" and re.fullmatch(r"/repos/octo/app/pulls/\d+", r[1])]
    )
