"""A durable code run survives SIGKILL twice: once after its edit was applied and checked (during the review),
once after the push, while GitHub is creating the pull request. The resumed run applies the edit once, pushes
once and opens one draft pull request."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sophia.runs import RunService
from sophia.store import Database, upgrade
from sophia.tools import ArgumentSealer, ToolInvoker, WorkspaceRoots
from tests.coding.code_worker import tools
from tests.connectors.github_standin import GitHubStandIn
from tests.runs.conftest import Workers, principal, wait_for, wait_for_run
from tests.runs.worker_app import KEY
from tests.serving import serve_app

# A real `sophia serve` and `sophia` commands start first, slow on a loaded machine.
pytestmark = pytest.mark.timeout(600)

ROOT = Path(__file__).resolve().parents[2]


class CodeWorkers(Workers):
    def __init__(self, database_url: str, system_url: str, trace: Path, github: str, remote: str) -> None:
        super().__init__(database_url, system_url, trace)
        self.extra = (github, remote)

    def start(self, executor_id: str) -> subprocess.Popen[bytes]:
        ready = self.trace / f"ready-{executor_id}"
        ready.unlink(missing_ok=True)
        with (self.trace / f"{executor_id}.log").open("ab") as log:
            args = [self.database_url, self.system_url, executor_id, str(self.trace), *self.extra]
            process = subprocess.Popen(
                [sys.executable, "-m", "tests.coding.code_worker", *args],
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONWARNINGS": "ignore"},
            )
        self.processes.append(process)
        wait_for(lambda: ready.exists() or process.poll() is not None, 90)
        assert process.poll() is None, (self.trace / f"{executor_id}.log").read_text()[-3000:]
        return process


@pytest.fixture
def github() -> Iterator[tuple[GitHubStandIn, str]]:
    standin = GitHubStandIn()
    with serve_app(standin.app()) as url:
        yield standin, url


async def test_a_killed_code_run_resumes_without_a_second_edit_push_or_pull_request(
    tmp_path: Path, buggy_repo: tuple[Path, Path], github: tuple[GitHubStandIn, str]
) -> None:
    repo, remote = buggy_repo
    standin, github_url = github
    trace = tmp_path / "trace"
    trace.mkdir()
    url = f"sqlite+aiosqlite:///{tmp_path / 'sophia.db'}"
    await upgrade(url)
    system = f"sqlite:///{tmp_path / 'dbos.sqlite'}"
    database = Database(url)
    registry, connector = tools(github_url, str(remote), trace)
    invoker = ToolInvoker(registry, database, sealer=ArgumentSealer(KEY))
    service = RunService(
        database, invoker, system_database_url=system, workspaces=WorkspaceRoots(tmp_path / "home")
    )
    workers = CodeWorkers(url, system, trace, github_url, str(remote))
    try:
        (trace / "hold-review").touch()
        first = workers.start("w1")
        options = {"source": str(repo), "remote": str(remote), "max_attempts": 2}
        run = await service.create(principal(), "add() subtracts; fix it", agent="code", options=options)
        wait_for(lambda: (trace / "holding-review").exists(), 120)  # edited and checked; reviewing
        workers.kill(first)
        (trace / "hold-review").unlink()
        assert not (remote / "pushes.log").exists()

        standin.hold_pull = trace / "holding-pull"
        second = workers.start("w1")
        wait_for(lambda: (trace / "holding-pull").exists(), 120)  # pushed; GitHub is making the pull request
        workers.kill(second)
        standin.hold_pull = None
        (trace / "holding-pull").unlink()

        workers.start("w1")
        done = await wait_for_run(service, run.id, ("succeeded", "failed"), 120)
        assert done.status == "succeeded", done.error
        detail = await service.detail(principal(), run.id)
        edits = [s for s in detail.steps if s["name"] == "code.edit"]
        assert [s["status"] for s in edits] == ["ok"]
        purposes = [line for line in (trace / "model.log").read_text().splitlines() if "edit" in line]
        assert len(purposes) == 1  # the edit's answer was replayed from its checkpoint, not asked again
        assert len((remote / "pushes.log").read_text().splitlines()) == 1
        creates = [r for r in standin.received if r[:2] == ("POST", "/repos/octo/app/pulls")]
        assert len(creates) == 1 and len(standin.pulls) == 1 and standin.pulls[0]["draft"] is True
        assert done.output is not None and "pull request: https://github.com/octo/app/pull/1" in done.output
        assert "return a + b" in (Path(done.workspace) / "calc.py").read_text()
        assert standin.mismatches == []
    finally:
        workers.stop_all()
        await connector.aclose()
        await service.aclose()
        await database.close()
