"""`POST /v1/code` and its event stream, in process with a real worker, the GitHub stand-in and a bare remote."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sophia.accounts import AccountService, Role
from sophia.coding import CodingOrchestrator
from sophia.config import Settings
from sophia.gateway.providers import ScriptedProvider
from sophia.runs import RunRuntime, RunService, RunSettings, RunWorker, default_agents
from sophia.server import Services, create_app
from sophia.store import Database
from sophia.tools import ApprovalPolicy, ArgumentSealer, ToolInvoker, WorkspaceRoots
from tests.agents.conftest import build_gateway
from tests.coding.code_worker import script, tools
from tests.connectors.github_standin import GitHubStandIn
from tests.serving import serve_app

KEY = bytes(32)


@pytest.fixture
def github() -> Iterator[tuple[GitHubStandIn, str]]:
    standin = GitHubStandIn()
    with serve_app(standin.app()) as url:
        yield standin, url


@pytest.fixture
async def api(
    tmp_path: Path, _sqlite_template: Path, buggy_repo: tuple[Path, Path], github: tuple[GitHubStandIn, str]
) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    repo, remote = buggy_repo
    home = tmp_path / "home"
    home.mkdir()
    shutil.copyfile(_sqlite_template, home / "sophia.db")
    settings = Settings(
        home=home, server={"upgrade_on_start": False}, tools={"workspace_roots": [repo.parent]}
    )
    database = Database(f"sqlite+aiosqlite:///{home / 'sophia.db'}")
    trace = tmp_path / "trace"
    trace.mkdir()
    gateway = build_gateway(database, ScriptedProvider(script(trace), name="scripted"))
    accounts = AccountService(database)
    keys = {}
    for name, role in (("ada", Role.ADMIN), ("mia", Role.MEMBER), ("max", Role.MEMBER)):
        user = await accounts.create_user(name, role)
        keys[name] = (await accounts.create_api_key(user.id, "k"))[1]
    registry, connector = tools(github[1], str(remote), trace)
    policy = ApprovalPolicy({"code.*": {"*": "auto"}})
    invoker = ToolInvoker(registry, database, policy=policy, sealer=ArgumentSealer(KEY))
    coder = CodingOrchestrator(gateway, invoker, None)
    runtime = RunRuntime(database, gateway, invoker, default_agents(registry), kinds={"code": coder})
    system_url = f"sqlite:///{tmp_path / 'dbos.sqlite'}"
    worker = RunWorker(
        runtime,
        system_database_url=system_url,
        executor_id="code-http",
        settings=RunSettings(heartbeat_seconds=0.5, stale_seconds=2.0, queue_poll_seconds=0.1),
    )
    services = Services(settings=settings, database=database, accounts=accounts, gateway=gateway)
    app = create_app(settings, services, mcp=False)
    app.state.services = services
    app.state.run_service = RunService(
        database, invoker, system_database_url=system_url, workspaces=WorkspaceRoots(home, [repo.parent])
    )
    await worker.start()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test", timeout=120) as client:
            yield client, keys
    finally:
        await worker.stop()
        await connector.aclose()
        await app.state.run_service.aclose()
        await gateway.aclose()
        await database.close()


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _events(text: str) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in lines:
            found.append((lines["event"], json.loads(lines["data"])))
    return found


async def test_post_v1_code_starts_a_code_run_whose_events_end_with_the_pull_request(
    api: tuple[httpx.AsyncClient, dict[str, str]],
    buggy_repo: tuple[Path, Path],
    github: tuple[GitHubStandIn, str],
) -> None:
    client, keys = api
    repo, remote = buggy_repo
    body = {"task": "add() subtracts; fix it", "repo": str(repo)}
    assert (await client.post("/v1/code", json=body)).status_code == 401

    created = await client.post("/v1/code", json=body, headers=auth(keys["mia"]))
    assert created.status_code == 201, created.text
    run = created.json()
    assert run["agent"] == "code" and run["events_url"] == f"/v1/code/{run['id']}/events"
    assert (await client.get(run["events_url"], headers=auth(keys["max"]))).status_code == 404

    streamed = await client.get(run["events_url"], headers=auth(keys["mia"]))
    assert streamed.headers["content-type"].startswith("text/event-stream")
    events = _events(streamed.text)
    names = [data["name"] for kind, data in events if kind == "step"]
    assert names.index("code.edit") < names.index("code.push") < names.index("code.pr")
    kind, done = events[-1]
    assert kind == "done" and done["status"] == "succeeded", done
    assert "pull request: https://github.com/octo/app/pull/1" in done["output"]
    assert len(github[0].pulls) == 1 and len((remote / "pushes.log").read_text().splitlines()) == 1


async def test_a_local_repository_outside_the_workspace_roots_is_refused(
    api: tuple[httpx.AsyncClient, dict[str, str]], tmp_path: Path
) -> None:
    client, keys = api
    refused = await client.post(
        "/v1/code", json={"task": "fix it", "repo": "/etc"}, headers=auth(keys["mia"])
    )
    assert refused.status_code in (400, 403), refused.text
    assert "outside the allowed roots" in refused.text
    missing = await client.post("/v1/code", json={"task": "fix it"}, headers=auth(keys["mia"]))
    assert missing.status_code == 422
