"""One durable agent run end to end on the real local model (SmolLM2-135M): weak, so only completion is checked."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from sophia.agents import AgentSpec
from sophia.config import Settings
from sophia.gateway import build_gateway
from sophia.runs import RunRuntime, RunService, RunSettings, RunWorker
from sophia.store import Database
from sophia.tools import ArgumentSealer, ToolInvoker, ToolRegistry
from tests.runs.conftest import principal

pytestmark = pytest.mark.local_llm


async def test_a_run_on_the_local_model_completes_and_is_recorded(
    tmp_path: Path, _sqlite_template: Path
) -> None:
    shutil.copyfile(_sqlite_template, tmp_path / "sophia.db")
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'sophia.db'}")
    gateway = await build_gateway(Settings(home=tmp_path), database)
    invoker = ToolInvoker(ToolRegistry(), database, sealer=ArgumentSealer(bytes(32)))
    agents = {"chat": AgentSpec("chat", "Answer in one short sentence.", model="local")}
    system_url = f"sqlite:///{tmp_path / 'dbos.sqlite'}"
    worker = RunWorker(
        RunRuntime(database, gateway, invoker, agents),
        system_database_url=system_url,
        settings=RunSettings(queue_poll_seconds=0.1),
    )
    service = RunService(database, invoker, system_database_url=system_url)
    await worker.start()
    try:
        run = await service.create(principal(), "What is the capital of France?")
        for _ in range(1200):
            run = await service.get(principal(), run.id)
            if run.status in ("succeeded", "failed"):
                break
            await asyncio.sleep(0.1)
        detail = await service.detail(principal(), run.id)
    finally:
        await service.aclose()
        await worker.stop()
        await gateway.aclose()
        await database.close()
    assert run.status == "succeeded", run.error
    assert run.output is not None
    assert [s["model"] for s in detail.steps if s["kind"] == "model"][0] == "local"
