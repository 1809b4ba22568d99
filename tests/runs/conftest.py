"""Real worker processes for the durable-run tests, and a `RunService` talking to the same databases."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sophia.accounts import Principal, Role
from sophia.runs import RunInfo, RunService
from sophia.store import Database, upgrade
from sophia.tools import ArgumentSealer, ToolInvoker
from tests.runs.worker_app import KEY, registry

ROOT = Path(__file__).resolve().parents[2]


def principal(user_id: int = 1, role: Role = Role.MEMBER) -> Principal:
    return Principal(
        user_id=user_id, user_name=f"user{user_id}", role=role, key_id=None, scopes=("*",), budget_usd=None
    )


class Workers:
    """Starts and kills real worker processes (`python -m tests.runs.worker_app`)."""

    def __init__(self, database_url: str, system_url: str, trace: Path) -> None:
        self.database_url, self.system_url, self.trace = database_url, system_url, trace
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, executor_id: str) -> subprocess.Popen[bytes]:
        ready = self.trace / f"ready-{executor_id}"
        ready.unlink(missing_ok=True)
        with (self.trace / f"{executor_id}.log").open("ab") as log:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.runs.worker_app",
                    self.database_url,
                    self.system_url,
                    executor_id,
                    str(self.trace),
                ],
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONWARNINGS": "ignore"},
            )
        self.processes.append(process)
        wait_for(lambda: ready.exists() or process.poll() is not None, 60)
        assert process.poll() is None, (self.trace / f"{executor_id}.log").read_text()[-3000:]
        return process

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(5)


def wait_for(condition: Callable[[], Any], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(0.05)


async def wait_for_run(
    service: RunService, run_id: str, statuses: tuple[str, ...], timeout: float
) -> RunInfo:
    import asyncio

    deadline = time.monotonic() + timeout
    while True:
        run = await service.get(principal(role=Role.ADMIN), run_id)
        if run.status in statuses:
            return run
        if time.monotonic() > deadline:
            raise AssertionError(f"run {run_id} stayed {run.status}, expected {statuses}")
        await asyncio.sleep(0.1)


@pytest.fixture
def trace(tmp_path: Path) -> Path:
    path = tmp_path / "trace"
    path.mkdir()
    return path


@pytest.fixture
async def sqlite_runs(tmp_path: Path, trace: Path) -> AsyncIterator[tuple[RunService, Workers]]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'sophia.db'}"
    await upgrade(url)
    async for pair in _runs(url, f"sqlite:///{tmp_path / 'dbos.sqlite'}", trace):
        yield pair


@pytest.fixture
async def postgres_runs(postgres_url: str, trace: Path) -> AsyncIterator[tuple[RunService, Workers]]:
    await upgrade(postgres_url)
    system = "postgresql://" + postgres_url.split("://", 1)[1]
    async for pair in _runs(postgres_url, system, trace):
        yield pair


async def _runs(url: str, system_url: str, trace: Path) -> AsyncIterator[tuple[RunService, Workers]]:
    database = Database(url)
    invoker = ToolInvoker(registry(trace), database, sealer=ArgumentSealer(KEY))
    service = RunService(database, invoker, system_database_url=system_url)
    workers = Workers(url, system_url, trace)
    try:
        yield service, workers
    finally:
        workers.stop_all()
        await service.aclose()
        await database.close()


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


@pytest.fixture
def no_leftover_processes() -> Iterator[None]:
    yield
