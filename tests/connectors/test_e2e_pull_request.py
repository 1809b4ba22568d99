"""End to end: an agent run opens a GitHub pull request through approvals and posts it to Slack; a worker
killed with SIGKILL after the pull request was made (before its answer came back) resumes without a second one.
The held call is announced in Slack's approvals channel with approve/deny buttons carrying its id."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request

from sophia.accounts import Role
from sophia.runs import RunService
from sophia.store import Database, upgrade
from sophia.tools import ArgumentSealer, ToolInvoker
from tests.connectors.github_standin import GitHubStandIn
from tests.connectors.pr_worker import APPROVALS_CHANNEL, KEY, SLACK_TOKEN, registry
from tests.runs.conftest import Workers, principal, wait_for, wait_for_run
from tests.serving import serve_app

ROOT = Path(__file__).resolve().parents[2]


class PrWorkers(Workers):
    def __init__(self, database_url: str, system_url: str, trace: Path, github: str, slack: str) -> None:
        super().__init__(database_url, system_url, trace)
        self.urls = (github, slack)

    def start(self, executor_id: str) -> subprocess.Popen[bytes]:
        ready = self.trace / f"ready-{executor_id}"
        ready.unlink(missing_ok=True)
        with (self.trace / f"{executor_id}.log").open("ab") as log:
            args = [self.database_url, self.system_url, executor_id, str(self.trace), *self.urls]
            process = subprocess.Popen(
                [sys.executable, "-m", "tests.connectors.pr_worker", *args],
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONWARNINGS": "ignore"},
            )
        self.processes.append(process)
        wait_for(lambda: ready.exists() or process.poll() is not None, 60)
        assert process.poll() is None, (self.trace / f"{executor_id}.log").read_text()[-3000:]
        return process


@pytest.fixture(scope="module")
def services() -> Iterator[tuple[GitHubStandIn, str, list[dict[str, Any]], str]]:
    github = GitHubStandIn()
    posted: list[dict[str, Any]] = []
    slack = FastAPI()

    @slack.post("/chat.postMessage")
    async def post(request: Request) -> Any:
        if request.headers.get("authorization") != f"Bearer {SLACK_TOKEN}":
            return {"ok": False, "error": "invalid_auth"}
        body = await request.json()
        posted.append(body)
        return {
            "ok": True,
            "channel": body["channel"],
            "ts": f"1503435956.00{len(posted)}",
            "message": {"text": body["text"], "type": "message"},
        }

    with serve_app(github.app()) as github_url, serve_app(slack) as slack_url:
        yield github, github_url, posted, slack_url


async def _approve_all_pending(service: RunService, run_id: str) -> int:
    pending = [a for a in (await service.detail(principal(), run_id)).approvals if a.status == "pending"]
    for approval in pending:
        await service.approve(principal(2, Role.ADMIN), approval.id)
    return len(pending)


async def test_a_killed_worker_does_not_open_the_pull_request_twice(
    services: tuple[GitHubStandIn, str, list[dict[str, Any]], str], tmp_path: Path
) -> None:
    github, github_url, posted, slack_url = services
    github.reset()
    posted.clear()
    trace = tmp_path / "trace"
    trace.mkdir()
    github.hold_pull = trace / "holding"
    url = f"sqlite+aiosqlite:///{tmp_path / 'sophia.db'}"
    await upgrade(url)
    system = f"sqlite:///{tmp_path / 'dbos.sqlite'}"
    database = Database(url)
    invoker = ToolInvoker(registry(github_url, slack_url, tmp_path), database, sealer=ArgumentSealer(KEY))
    service = RunService(database, invoker, system_database_url=system)
    workers = PrWorkers(url, system, trace, github_url, slack_url)
    try:
        first = workers.start("w1")
        run = await service.create(principal(), "open the pull request and tell the channel")
        await wait_for_run(service, run.id, ("waiting_approval",), 60)
        assert github.writes() == []  # nothing is sent before the approval
        held = [a for a in (await service.detail(principal(), run.id)).approvals if a.status == "pending"]
        announced = [p for p in posted if p["channel"] == APPROVALS_CHANNEL]
        assert [p["blocks"][1]["elements"][0]["value"] for p in announced] == [held[0].id]
        assert "github.pulls.create" in announced[0]["text"] and "fix-typo" in str(announced[0]["blocks"])
        assert await _approve_all_pending(service, run.id) == 1
        wait_for(lambda: (trace / "holding").exists(), 60)  # GitHub made the pull request; no answer yet
        workers.kill(first)
        github.hold_pull = None
        (trace / "holding").unlink()

        workers.start("w1")
        while True:
            current = await wait_for_run(service, run.id, ("waiting_approval", "succeeded", "failed"), 60)
            if current.status != "waiting_approval":
                break
            await _approve_all_pending(service, run.id)
        assert current.status == "succeeded", current.error
        creates = [r for r in github.received if r[:2] == ("POST", "/repos/octo/app/pulls")]
        assert len(creates) == 1 and len(github.pulls) == 1
        assert github.pulls[0]["draft"] is True
        results = [p for p in posted if p["channel"] != APPROVALS_CHANNEL]
        assert results == [{"channel": "C1", "text": "Opened https://github.com/octo/app/pull/1"}]
        assert github.mismatches == []
        stamp = f"1503435956.00{posted.index(results[0]) + 1}"  # the stand-in's ts of the result message
        assert current.output is not None and stamp in current.output
    finally:
        workers.stop_all()
        await service.aclose()
        await database.close()
