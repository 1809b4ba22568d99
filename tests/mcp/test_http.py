"""Streamable HTTP on Sophia's app, served by uvicorn on 127.0.0.1: auth, Host checks, limits, approvals."""

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
import mcp_types as types
import pytest
import uvicorn
from mcp.client.streamable_http import streamable_http_client

from mcp import Client
from sophia.accounts import AccountService
from sophia.config import Settings
from sophia.mcp import McpHttpSettings, install_mcp, open_runtime
from sophia.server import create_app
from sophia.store import Database, upgrade
from sophia.tools import list_tool_audit
from tests.serving import free_port

JSONRPC_LIST = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
ACCEPT = {"accept": "application/json, text/event-stream", "mcp-protocol-version": "2025-11-25"}


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
    for name, role, scopes in [
        ("ada", "member", None),
        ("rita", "member", None),
        ("otto", "member", ["chat"]),
    ]:
        user = await accounts.create_user(name, role=role)
        keys[name] = (await accounts.create_api_key(user.id, scopes=scopes))[1]
    await database.close()
    return keys


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    home: Path = tmp_path_factory.mktemp("mcp-http")
    url = f"sqlite+aiosqlite:///{home / 'sophia.db'}"
    keys = asyncio.run(_accounts(url))
    app = create_app(Settings(home=home, storage={"url": url}))

    async def runtime(services: Any) -> Any:
        return await open_runtime(services.settings, services.database, embedder="hashing")

    install_mcp(app, runtime_factory=runtime, http=McpHttpSettings(requests_per_minute=30))
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


def test_health_check_answers_without_a_key(running: Running) -> None:
    response = httpx.get(f"{running.url}/mcp/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok" and "memory" in response.json()["servers"]


def test_unauthenticated_call_is_refused_with_401(running: Running) -> None:
    response = httpx.post(f"{running.url}/mcp/memory", json=JSONRPC_LIST, headers=ACCEPT)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "missing API key" in response.json()["error"]["message"]
    wrong = httpx.post(
        f"{running.url}/mcp/memory", json=JSONRPC_LIST, headers={**ACCEPT, "authorization": "Bearer sph_nope"}
    )
    assert wrong.status_code == 401


def test_key_without_the_mcp_scope_is_forbidden(running: Running) -> None:
    headers = {**ACCEPT, "authorization": f"Bearer {running.keys['otto']}"}
    response = httpx.post(f"{running.url}/mcp/memory", json=JSONRPC_LIST, headers=headers)
    assert response.status_code == 403 and "mcp:memory" in response.json()["error"]["message"]


def test_foreign_host_and_origin_are_refused(running: Running) -> None:
    headers = {**ACCEPT, "authorization": f"Bearer {running.keys['ada']}"}
    rebound = httpx.post(
        f"{running.url}/mcp/memory", json=JSONRPC_LIST, headers={**headers, "host": "evil.example"}
    )
    foreign = httpx.post(
        f"{running.url}/mcp/memory", json=JSONRPC_LIST, headers={**headers, "origin": "https://evil.example"}
    )
    assert rebound.status_code == 421
    assert foreign.status_code == 403


def test_requests_beyond_the_keys_minute_budget_are_limited(running: Running) -> None:
    headers = {**ACCEPT, "authorization": f"Bearer {running.keys['rita']}"}
    statuses = [
        httpx.post(f"{running.url}/mcp/memory", json=JSONRPC_LIST, headers=headers).status_code
        for _ in range(35)
    ]
    assert 429 in statuses
    limited = httpx.post(f"{running.url}/mcp/memory", json=JSONRPC_LIST, headers=headers)
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_official_client_over_http_holds_a_write_for_approval(running: Running, mode: str) -> None:
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {running.keys['ada']}"}) as http:
        transport = streamable_http_client(f"{running.url}/mcp/memory", http_client=http)
        async with Client(transport, mode=mode) as client:
            names = [tool.name for tool in (await client.list_tools()).tools]
            stored = await client.call_tool("memory.remember", {"content": f"over http ({mode})"})
            assert stored.structured_content is not None  # an own-namespace memory write runs at once
            held = await client.call_tool("memory.forget", {"memory_id": stored.structured_content["id"]})
            stats = await client.call_tool("memory.stats", {})
    assert "memory.remember" in names
    block = held.content[0]
    assert isinstance(block, types.TextContent) and block.text.startswith("held for approval, id ")
    assert stats.structured_content is not None  # the held forget closed nothing
    assert stats.structured_content["current"] == stats.structured_content["memories"] >= 1
    database = Database(running.database_url)
    try:
        async with database.session() as session:
            entries = await list_tool_audit(session)
    finally:
        await database.close()
    requested = [e for e in entries if e.action == "tool.approval_requested"]
    assert requested and all(e.actor_key_id is not None for e in requested)
