"""Two real workers on PostgreSQL share the queue; when one dies mid-run, the other's watchdog takes the run."""

from __future__ import annotations

from pathlib import Path

import pytest

from sophia.runs import RunService
from tests.runs.conftest import Workers, lines, principal, wait_for, wait_for_run


@pytest.mark.postgres
async def test_a_run_whose_worker_died_is_finished_by_the_other_worker(
    postgres_runs: tuple[RunService, Workers], trace: Path
) -> None:
    service, workers = postgres_runs
    processes = {"w1": workers.start("w1"), "w2": workers.start("w2")}
    run = await service.create(principal(), "write-then-wait")
    wait_for(lambda: (trace / "waiting").exists(), 60)
    owner = (await wait_for_run(service, run.id, ("running",), 30)).executor_id
    assert owner in processes
    workers.kill(processes[owner])
    (trace / "release").touch()

    done = await wait_for_run(service, run.id, ("succeeded", "failed"), 90)

    assert done.status == "succeeded", done.error
    assert lines(trace / "writes.log") == ["a"]
    survivor = next(name for name in processes if name != owner)
    assert done.executor_id == survivor
