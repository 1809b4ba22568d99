"""Runs get a workspace (a fresh SOPHIA_HOME/workspaces/<run id>, or a checked existing directory) and the
`consensus` kind, through `/v1/runs` with an in-process worker on a scripted model."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from sophia.accounts import AccountService, Role
from sophia.config import Settings
from sophia.gateway.providers import ScriptedProvider
from sophia.runs import RunRuntime, RunService, RunSettings, RunWorker, default_agents, default_panel
from sophia.server import Services, create_app, open_toolkit
from sophia.store import Database
from tests.agents.conftest import build_gateway, call, tool_messages


def _system(body: dict[str, Any]) -> str:
    return str(body["messages"][0]["content"])


def script(body: dict[str, Any]) -> Any:
    """chat reads notes.txt from its workspace; consensus members answer, the judge picks the second."""
    system, task = _system(body), str(body["messages"][-1]["content"])
    if "compare independent answers" in system:
        return "PICK 2"
    if "careful reasoning alone" in system:
        return "analyst says 4"
    if "find facts" in system:
        return "researcher says 5"
    done = tool_messages(body)
    if "read the notes" in task and not done:
        return call("workspace.read", path="notes.txt")
    return "read: " + (done[0] if done else "nothing")


@dataclass
class Api:
    client: httpx.AsyncClient
    key: str
    home: Path
    allowed: Path


@pytest.fixture
async def api(tmp_path: Path, _sqlite_template: Path, _isolated_sophia_home: Path) -> AsyncIterator[Api]:
    home, allowed = _isolated_sophia_home, tmp_path / "repos"  # SOPHIA_HOME wins over `home=`
    allowed.mkdir()
    shutil.copyfile(_sqlite_template, home / "sophia.db")
    settings = Settings(
        home=home, server={"upgrade_on_start": False}, tools={"workspace_roots": [str(allowed)]}
    )
    database = Database(f"sqlite+aiosqlite:///{home / 'sophia.db'}")
    gateway = build_gateway(database, ScriptedProvider(script, name="scripted"))
    accounts = AccountService(database)
    user = await accounts.create_user("mia", Role.MEMBER)
    key = (await accounts.create_api_key(user.id, "k"))[1]
    kit = await open_toolkit(settings, database, None)
    agents = default_agents(kit.registry)
    runtime = RunRuntime(database, gateway, kit.invoker, agents, panel=default_panel(agents))
    system_url = f"sqlite:///{home / 'dbos.sqlite'}"
    worker = RunWorker(
        runtime,
        system_database_url=system_url,
        executor_id="workspace-test",
        settings=RunSettings(heartbeat_seconds=0.5, stale_seconds=2.0, queue_poll_seconds=0.1),
    )
    services = Services(settings=settings, database=database, accounts=accounts, gateway=gateway, tools=kit)
    app = create_app(settings, services, mcp=False)
    app.state.services = services
    app.state.run_service = RunService(
        database, kit.invoker, system_database_url=system_url, workspaces=kit.workspaces
    )
    await worker.start()
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as client:
            yield Api(client, key, home, allowed)
    finally:
        await worker.stop()
        await app.state.run_service.aclose()
        await gateway.aclose()
        await database.close()


async def _finished(api: Api, run_id: str) -> dict[str, Any]:
    for _ in range(300):
        shown = (await api.client.get(f"/v1/runs/{run_id}", headers=_auth(api))).json()
        if shown["status"] in ("succeeded", "failed"):
            return dict(shown)
        await asyncio.sleep(0.1)
    raise AssertionError(f"run stayed {shown['status']}")


def _auth(api: Api) -> dict[str, str]:
    return {"Authorization": f"Bearer {api.key}"}


async def _create(api: Api, **body: Any) -> httpx.Response:
    return await api.client.post("/v1/runs", json={"task": "x", **body}, headers=_auth(api))


async def test_a_run_gets_a_fresh_workspace_under_sophia_home(api: Api) -> None:
    created = await _create(api, task="list what is there")
    assert created.status_code == 201, created.text
    run = created.json()
    assert run["workspace"] == str((api.home / "workspaces" / run["id"]).resolve())
    assert Path(run["workspace"]).is_dir()


async def test_a_run_works_in_the_existing_workspace_it_was_given(api: Api) -> None:
    repo = api.allowed / "project"
    repo.mkdir()
    (repo / "notes.txt").write_text("ship on friday", encoding="utf-8")
    created = await _create(api, task="read the notes", workspace=str(repo))
    assert created.status_code == 201, created.text
    done = await _finished(api, created.json()["id"])
    assert done["status"] == "succeeded", done
    assert "ship on friday" in done["output"]  # workspace.read ran inside the given directory
    assert [s["name"] for s in done["step_list"]] == ["model", "workspace.read", "model"]


@pytest.mark.parametrize(
    ("where", "status", "expected"),
    [
        ("outside", 403, "is outside the allowed roots"),
        ("missing", 404, "does not exist"),
        ("file", 404, "is not a directory"),
        ("relative", 422, "workspace"),
    ],
)
async def test_a_workspace_that_is_not_an_allowed_directory_is_refused(
    api: Api, tmp_path: Path, where: str, status: int, expected: str
) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (api.allowed / "a-file").write_text("x", encoding="utf-8")
    path = {
        "outside": str(outside),
        "missing": str(api.allowed / "nope"),
        "file": str(api.allowed / "a-file"),
        "relative": "repos/project",  # the body schema wants an absolute path
    }[where]
    refused = await _create(api, workspace=path)
    assert refused.status_code == status, refused.text
    error = refused.json()["error"]
    assert expected in error["message"] or expected in str(error.get("param"))
    if status != 422:
        assert error["code"] == "workspace_error"
    assert (await api.client.get("/v1/runs", headers=_auth(api))).json()["data"] == []  # nothing was queued


async def test_a_symlink_out_of_an_allowed_root_is_refused(api: Api, tmp_path: Path) -> None:
    outside = tmp_path / "secret"
    outside.mkdir()
    (api.allowed / "link").symlink_to(outside)
    refused = await _create(api, workspace=str(api.allowed / "link"))
    assert refused.status_code == 403 and "outside the allowed roots" in refused.json()["error"]["message"]


async def test_consensus_runs_each_member_then_the_judge_picks(api: Api) -> None:
    created = await _create(api, task="how many moons?", agent="consensus")
    assert created.status_code == 201, created.text
    done = await _finished(api, created.json()["id"])
    assert done["status"] == "succeeded" and done["agent"] == "consensus"
    assert done["output"] == "analyst says 4"  # the judge's PICK 2
    assert [s["agent"] for s in done["step_list"]] == ["researcher", "analyst", "judge"]
