"""Durable runs: overhead of a DBOS step over the same call undurable, and time to resume after `kill -9`.

    python bench/runs.py [--steps 200] [--postgres postgresql://postgres@127.0.0.1:5432/postgres]

Prints ratios against a baseline measured in the same run. The resume benchmark starts real worker
processes (tests/runs/worker_app.py), kills one mid-run and times how long a restarted one takes to finish.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import asyncpg
from dbos import DBOS

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


async def _work(i: int) -> dict[str, Any]:
    return {"i": i}


@DBOS.workflow(name="bench.steps")
async def _durable(steps: int) -> int:
    for i in range(steps):
        await DBOS.run_step_async({"name": "work"}, _work, i)
    return steps


async def step_overhead(system_url: str, steps: int) -> tuple[float, float]:
    DBOS(
        config={
            "name": "bench",
            "system_database_url": system_url,
            "log_level": "WARNING",
            "executor_id": "bench-" + uuid.uuid4().hex[:6],
        }
    )
    DBOS.launch()
    try:
        t0 = time.perf_counter()
        for i in range(steps):
            await _work(i)
        plain = (time.perf_counter() - t0) / steps
        t0 = time.perf_counter()
        handle = await DBOS.start_workflow_async(_durable, steps)
        await handle.get_result()
        durable = (time.perf_counter() - t0) / steps
    finally:
        DBOS.destroy()
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor())  # DBOS shut its pool down
    return plain, durable


def _wait(condition: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark condition not met")
        time.sleep(0.02)


async def resume_after_kill(database_url: str, system_url: str) -> tuple[float, float]:
    """Seconds from restarting a killed worker until the run finished, and one worker's cold start alone."""
    from tests.runs.conftest import principal
    from tests.runs.worker_app import KEY, registry

    from sophia.runs import RunService
    from sophia.store import Database, upgrade
    from sophia.tools import ArgumentSealer, ToolInvoker

    trace = Path(tempfile.mkdtemp(prefix="sophia-bench-"))
    await upgrade(database_url)
    database = Database(database_url)
    service = RunService(
        database,
        ToolInvoker(registry(trace), database, sealer=ArgumentSealer(KEY)),
        system_database_url=system_url,
    )

    def start() -> subprocess.Popen[bytes]:
        (trace / "ready-w1").unlink(missing_ok=True)
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.runs.worker_app", database_url, system_url, "w1", str(trace)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
        _wait(lambda: (trace / "ready-w1").exists(), 120)
        return process

    try:
        t0 = time.perf_counter()
        first = start()
        cold = time.perf_counter() - t0
        run = await service.create(principal(), "write-then-wait")
        _wait(lambda: (trace / "waiting").exists(), 60)
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
        (trace / "release").touch()
        t0 = time.perf_counter()
        second = start()
        while (await service.get(principal(), run.id)).status not in ("succeeded", "failed"):
            await asyncio.sleep(0.02)
        resumed = time.perf_counter() - t0
        second.send_signal(signal.SIGTERM)
        second.wait(30)
    finally:
        await service.aclose()
        await database.close()
        shutil.rmtree(trace, ignore_errors=True)
    return resumed, cold


async def _fresh_postgres(admin_url: str) -> tuple[str, str]:
    name = "sophia_bench_" + uuid.uuid4().hex[:8]
    connection = await asyncpg.connect(admin_url)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    base = admin_url.rsplit("/", 1)[0]
    return f"{base}/{name}".replace("postgresql://", "postgresql+asyncpg://", 1), f"{base}/{name}"


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="sophia-bench-home-"))
    backends = {"sqlite": (f"sqlite+aiosqlite:///{home / 'sophia.db'}", f"sqlite:///{home / 'dbos.sqlite'}")}
    try:
        backends["postgresql"] = await _fresh_postgres(args.postgres)
    except (OSError, asyncpg.PostgresError) as error:
        print(f"postgresql skipped: {error}")
    for backend, (database_url, system_url) in backends.items():
        plain, durable = await step_overhead(system_url, args.steps)
        print(
            f"{backend}: durable step {durable * 1e3:.2f} ms vs undurable {plain * 1e6:.1f} µs "
            f"-> overhead {(durable - plain) * 1e3:.2f} ms/step ({durable / plain:.0f}x)"
        )
        resumed, cold = await resume_after_kill(database_url, system_url)
        print(
            f"{backend}: resume after kill -9 {resumed:.2f} s (worker cold start {cold:.2f} s, "
            f"ratio {resumed / cold:.2f}; the rest is recovery and the remaining steps)"
        )


if __name__ == "__main__":
    asyncio.run(main())
