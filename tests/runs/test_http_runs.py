"""`/v1/runs` over HTTP with an in-process worker: create, watch, see steps and costs; users see their own."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sophia.accounts import AccountService, Role
from sophia.agents import AgentSpec, OutcomeMemory
from sophia.config import Settings
from sophia.gateway.providers import ScriptedProvider
from sophia.memory import HashingEmbedder, MemoryService
from sophia.runs import RunRuntime, RunService, RunSettings, RunWorker, default_agents
from sophia.server import Services, create_app
from sophia.server._runs import router
from sophia.store import Database
from sophia.tools import ArgumentSealer, ToolInvoker
from tests.agents.conftest import Ledger, build_gateway, call, make_registry, tool_messages

KEY = bytes(32)
Api = tuple[httpx.AsyncClient, dict[str, str], Ledger, MemoryService]


def script(body: dict[str, Any]) -> Any:
    done = tool_messages(body)
    return call("notes.write", title="t", body="b") if not done else "finished: " + done[0]


@pytest.fixture
async def api(tmp_path: Path, _sqlite_template: Path) -> AsyncIterator[Api]:
    shutil.copyfile(_sqlite_template, tmp_path / "sophia.db")
    settings = Settings(home=tmp_path, server={"upgrade_on_start": False})
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'sophia.db'}")
    gateway = build_gateway(database, ScriptedProvider(script, name="scripted"))
    accounts = AccountService(database)
    keys = {}
    for name, role in (("ada", Role.ADMIN), ("mia", Role.MEMBER), ("max", Role.MEMBER)):
        user = await accounts.create_user(name, role)
        keys[name] = (await accounts.create_api_key(user.id, "k"))[1]
    ledger = Ledger()
    registry = make_registry(ledger)
    invoker = ToolInvoker(registry, database, sealer=ArgumentSealer(KEY))
    agents = default_agents(registry)
    agents["chat"] = AgentSpec("chat", "test", tools=("notes.write",))
    memory = await MemoryService.open(database, HashingEmbedder(dimensions=64), index_path=tmp_path / "v.npz")
    outcomes = OutcomeMemory(memory)  # each finished run leaves its performance memory
    runtime = RunRuntime(database, gateway, invoker, agents, approval_poll_seconds=1.0, outcomes=outcomes)
    system_url = f"sqlite:///{tmp_path / 'dbos.sqlite'}"
    worker = RunWorker(
        runtime,
        system_database_url=system_url,
        executor_id="http-test",
        settings=RunSettings(heartbeat_seconds=0.5, stale_seconds=2.0, queue_poll_seconds=0.1),
    )
    services = Services(settings=settings, database=database, accounts=accounts, gateway=gateway)
    app = create_app(settings, services, mcp=False)
    app.include_router(router)
    app.state.run_service = RunService(database, invoker, system_database_url=system_url)
    await worker.start()
    try:
        app.state.services = services  # what the lifespan would set; the run routes need nothing else
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as client:
            yield client, keys, ledger, memory
    finally:
        await worker.stop()
        await memory.close()
        await app.state.run_service.aclose()
        await gateway.aclose()
        await database.close()


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def _until(
    client: httpx.AsyncClient, key: str, run_id: str, statuses: tuple[str, ...]
) -> dict[str, Any]:
    for _ in range(300):
        shown = (await client.get(f"/v1/runs/{run_id}", headers=auth(key))).json()
        if shown["status"] in statuses:
            return dict(shown)
        await asyncio.sleep(0.1)
    raise AssertionError(f"run stayed {shown['status']}")


async def test_a_run_created_over_http_waits_for_approval_then_finishes(
    api: Api,
) -> None:
    client, keys, ledger, memory = api
    created = await client.post("/v1/runs", json={"task": "write a note"}, headers=auth(keys["mia"]))
    assert created.status_code == 201, created.text
    run_id = created.json()["id"]
    waiting = await _until(client, keys["mia"], run_id, ("waiting_approval",))
    (approval,) = waiting["approvals"]
    assert ledger.calls == []

    other = await client.post(
        f"/v1/runs/{run_id}/approvals/{approval['id']}/approve", json={}, headers=auth(keys["max"])
    )
    assert other.status_code == 404
    decided = await client.post(
        f"/v1/runs/{run_id}/approvals/{approval['id']}/approve", json={}, headers=auth(keys["mia"])
    )
    assert decided.json()["status"] == "approved"
    done = await _until(client, keys["mia"], run_id, ("succeeded", "failed"))

    assert done["status"] == "succeeded" and done["output"] == "finished: saved t"
    assert ledger.calls == [{"tool": "notes.write", "title": "t", "body": "b"}]
    assert [s["name"] for s in done["step_list"]] == ["model", "notes.write", "model"]
    assert done["cost_usd"] > 0
    assert {"tool.approval_requested", "tool.approval_approved", "tool.call"} <= {
        a["action"] for a in done["audit"]
    }
    (outcome,) = [m async for m in memory.export() if m.kind.value == "outcome"]
    assert outcome.namespace.startswith("user:")  # the user who ran it
    assert outcome.metadata["models"] == ["scripted"] and outcome.metadata["tools"] == ["notes.write"]
    assert outcome.metadata["status"] == "succeeded" and outcome.metadata["run_id"] == run_id
    assert outcome.metadata["latency_seconds"] > 0 and "Models: scripted" in outcome.content


async def test_members_see_only_their_runs_and_admins_see_all(
    api: Api,
) -> None:
    client, keys, _, _ = api
    run_id = (await client.post("/v1/runs", json={"task": "x"}, headers=auth(keys["mia"]))).json()["id"]
    assert (await client.get(f"/v1/runs/{run_id}", headers=auth(keys["max"]))).status_code == 404
    assert (await client.get("/v1/runs", headers=auth(keys["max"]))).json()["data"] == []
    assert [r["id"] for r in (await client.get("/v1/runs", headers=auth(keys["ada"]))).json()["data"]] == [
        run_id
    ]
    assert (await client.get("/v1/runs")).status_code == 401
    bad = await client.post("/v1/runs", json={"task": "x", "agent": "wizard"}, headers=auth(keys["mia"]))
    assert bad.status_code == 422  # the body schema lists the agents
    cancelled = await client.post(f"/v1/runs/{run_id}/cancel", headers=auth(keys["mia"]))
    assert cancelled.json()["status"] in ("cancelled", "succeeded")
