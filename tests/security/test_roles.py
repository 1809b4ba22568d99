"""Roles over a real uvicorn: a pending key reaches nothing; MCP memory tools stay inside the caller's namespaces."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
import sqlalchemy as sa
import uvicorn
from mcp.client.streamable_http import streamable_http_client

from mcp import Client
from sophia.accounts import AccountService
from sophia.config import Settings
from sophia.mcp import install_mcp, open_runtime
from sophia.server import create_app
from sophia.store import Database, upgrade
from sophia.tools import ToolApprovalRow
from tests.serving import free_port


@dataclass
class Running:
    url: str
    keys: dict[str, str]
    database_url: str


async def _accounts(url: str) -> dict[str, str]:
    await upgrade(url)
    database = Database(url)
    accounts = AccountService(database)
    keys: dict[str, str] = {}
    for name, role in [("ada", "member"), ("bob", "member"), ("pat", "pending")]:
        user = await accounts.create_user(name, role=role)
        keys[name] = (await accounts.create_api_key(user.id))[1]
    await database.close()
    return keys


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    home: Path = tmp_path_factory.mktemp("roles")
    url = f"sqlite+aiosqlite:///{home / 'sophia.db'}"
    keys = asyncio.run(_accounts(url))
    app = create_app(Settings(home=home, storage={"url": url}, server={"run_worker": False}))

    async def runtime(services: Any) -> Any:
        return await open_runtime(services.settings, services.database, embedder="hashing")

    install_mcp(app, runtime_factory=runtime)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    try:
        yield Running(f"http://127.0.0.1:{port}", keys, url)
    finally:
        server.should_exit = True
        thread.join(30)


def _as(running: Running, name: str) -> dict[str, str]:
    return {"authorization": f"Bearer {running.keys[name]}"}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/memory", {"content": "a pending user's note"}),
        ("POST", "/v1/memory/recall", {"query": "note"}),
        ("GET", "/v1/memory/stats", None),
        ("GET", "/v1/models", None),
        ("GET", "/v1/gateway/stats", None),
        ("POST", "/v1/chat/completions", {"model": "auto", "messages": [{"role": "user", "content": "hi"}]}),
        ("GET", "/v1/runs", None),
    ],
)
def test_a_pending_users_key_reaches_nothing(
    running: Running, method: str, path: str, body: dict[str, Any] | None
) -> None:
    response = httpx.request(method, running.url + path, json=body, headers=_as(running, "pat"))
    assert response.status_code == 403, response.text
    assert "pending" in response.json()["error"]["message"]


async def _mcp(running: Running, name: str, tool: str, arguments: dict[str, Any]) -> Any:
    async with httpx2.AsyncClient(headers=_as(running, name)) as http:
        transport = streamable_http_client(f"{running.url}/mcp/memory", http_client=http)
        async with Client(transport) as client:
            return await client.call_tool(tool, arguments)


async def test_mcp_memory_stats_and_forget_stay_inside_the_callers_namespaces(running: Running) -> None:
    async with httpx.AsyncClient(base_url=running.url) as client:
        for name, content in [("ada", "ada's note"), ("bob", "bob's first"), ("bob", "bob's second")]:
            created = await client.post("/v1/memory", json={"content": content}, headers=_as(running, name))
            assert created.status_code == 201, created.text
        bobs_id = created.json()["id"]
        rest_stats = (await client.get("/v1/memory/stats", headers=_as(running, "ada"))).json()

    stats = await _mcp(running, "ada", "memory.stats", {})
    assert stats.structured_content["memories"] == rest_stats["memories"] == 1
    assert "vectors" not in stats.structured_content

    refused = await _mcp(running, "ada", "memory.forget", {"memory_id": bobs_id})
    assert refused.is_error and "no memory" in refused.content[0].text
    database = Database(running.database_url)
    try:
        async with database.session() as session:
            held = (await session.execute(sa.select(ToolApprovalRow.tool))).scalars().all()
    finally:
        await database.close()
    assert "memory.forget" not in held

    own = await _mcp(running, "bob", "memory.forget", {"memory_id": bobs_id})
    assert own.content[0].text.startswith("held for approval")  # the owner's request is still asked for
