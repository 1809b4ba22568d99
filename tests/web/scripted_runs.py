"""A run worker in the app's process on a scripted model that writes a note, so every run waits for approval."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from sophia.agents import AgentSpec
from sophia.gateway.providers import ScriptedProvider
from sophia.runs import RunRuntime, RunService, RunSettings, RunWorker, default_agents
from sophia.store import Database
from sophia.tools import ArgumentSealer, ToolInvoker
from tests.agents.conftest import Ledger, build_gateway, call, make_registry, tool_messages

KEY = bytes(32)


def write_a_note(body: dict[str, Any]) -> Any:
    """First turn: call `notes.write` (a write, so it needs approval); then finish with what the tool said."""
    done = tool_messages(body)
    return call("notes.write", title="launch", body="ship on friday") if not done else "finished: " + done[0]


@asynccontextmanager
async def scripted_runs(app: FastAPI, database: Database, system_url: str) -> AsyncIterator[Ledger]:
    """Start the worker and put a `RunService` on the app sharing its tools; stop both on exit."""
    gateway = build_gateway(database, ScriptedProvider(write_a_note, name="scripted"))
    ledger = Ledger()
    registry = make_registry(ledger)
    invoker = ToolInvoker(registry, database, sealer=ArgumentSealer(KEY))
    agents = default_agents(registry)
    agents["chat"] = AgentSpec("chat", "test", tools=("notes.write",))
    runtime = RunRuntime(database, gateway, invoker, agents, approval_poll_seconds=0.5)
    worker = RunWorker(
        runtime,
        system_database_url=system_url,
        executor_id="web-test",
        settings=RunSettings(heartbeat_seconds=0.5, stale_seconds=2.0, queue_poll_seconds=0.1),
    )
    service = RunService(database, invoker, system_database_url=system_url)
    app.state.run_service = service
    await worker.start()
    try:
        yield ledger
    finally:
        await worker.stop()
        app.state.run_service = None
        await service.aclose()
        await gateway.aclose()
