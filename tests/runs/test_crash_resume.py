"""Durable runs with real worker processes: kill -9 mid-run, restart, and the run resumes where it was."""

from __future__ import annotations

import json
from pathlib import Path

from sophia.accounts import Role
from sophia.runs import RunService
from tests.runs.conftest import Workers, lines, principal, wait_for, wait_for_run


async def test_a_killed_worker_resumes_the_run_without_repeating_finished_steps(
    sqlite_runs: tuple[RunService, Workers], trace: Path
) -> None:
    service, workers = sqlite_runs
    first = workers.start("w1")
    run = await service.create(principal(), "write-then-wait")
    wait_for(lambda: (trace / "waiting").exists(), 60)
    workers.kill(first)
    assert lines(trace / "writes.log") == ["a"]
    calls_before = len(lines(trace / "model.log"))
    assert calls_before == 2

    (trace / "release").touch()
    workers.start("w1")
    done = await wait_for_run(service, run.id, ("succeeded", "failed"), 60)

    assert done.status == "succeeded", done.error
    assert done.output == "finished: wrote a | waited b"
    assert lines(trace / "writes.log") == ["a"]  # the write happened exactly once
    calls = [json.loads(line) for line in lines(trace / "model.log")]
    assert [c["tools_done"] for c in calls] == [0, 1, 2]  # finished model steps were not called again
    detail = await service.detail(principal(), run.id)
    assert [(s["kind"], s["name"], s["status"]) for s in detail.steps] == [
        ("model", "model", "ok"),
        ("tool", "notes.write", "ok"),
        ("model", "model", "ok"),
        ("tool", "notes.wait", "ok"),
        ("model", "model", "ok"),
    ]
    assert detail.run.cost_usd > 0


async def test_a_write_cut_off_by_a_crash_is_not_repeated_and_the_agent_is_told(
    sqlite_runs: tuple[RunService, Workers], trace: Path
) -> None:
    service, workers = sqlite_runs
    first = workers.start("w1")
    run = await service.create(principal(), "write-and-hold")
    wait_for(lambda: (trace / "holding").exists(), 60)
    workers.kill(first)
    (trace / "release").touch()
    workers.start("w1")
    done = await wait_for_run(service, run.id, ("succeeded", "failed"), 60)

    assert lines(trace / "writes.log") == ["a"]
    assert done.status == "succeeded"
    assert "interrupted by a worker crash" in (done.output or "")


async def test_a_run_waiting_for_approval_survives_a_restart(
    sqlite_runs: tuple[RunService, Workers], trace: Path
) -> None:
    service, workers = sqlite_runs
    first = workers.start("w1")
    owner = principal()
    run = await service.create(owner, "delete")
    await wait_for_run(service, run.id, ("waiting_approval",), 60)
    workers.kill(first)
    assert lines(trace / "deletes.log") == []

    workers.start("w1")
    (pending,) = (await service.detail(owner, run.id)).approvals
    await service.approve(principal(2, Role.ADMIN), pending.id)
    done = await wait_for_run(service, run.id, ("succeeded", "failed"), 60)

    assert done.status == "succeeded", done.error
    assert lines(trace / "deletes.log") == ["old"]
    assert done.output == "finished: deleted old"
