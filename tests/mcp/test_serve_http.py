"""MCP over streamable HTTP against a real `sophia serve` process: refused without a key, writes held for approval."""

from __future__ import annotations

from pathlib import Path

import httpx
import httpx2
import mcp_types as types
from mcp.client.streamable_http import streamable_http_client

from mcp import Client
from tests.serving import clean_env, create_key, running_sophia

LIST_TOOLS = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
ACCEPT = {"accept": "application/json, text/event-stream", "mcp-protocol-version": "2025-11-25"}


async def test_sophia_serve_exposes_mcp_with_auth_and_approvals(tmp_path: Path) -> None:
    env = clean_env(tmp_path, SOPHIA_SERVER__RUN_WORKER="false", SOPHIA_LOGGING__LEVEL="WARNING")
    key = create_key(env, "ada", "member")
    with running_sophia(env, tmp_path) as server:
        assert httpx.get(f"{server.url}/mcp/health").json()["status"] == "ok"
        refused = httpx.post(f"{server.url}/mcp/memory", json=LIST_TOOLS, headers=ACCEPT)
        assert refused.status_code == 401
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}) as http:
            transport = streamable_http_client(f"{server.url}/mcp/memory", http_client=http)
            async with Client(transport) as client:
                names = {tool.name for tool in (await client.list_tools()).tools}
                stored = await client.call_tool("memory.remember", {"content": "the launch is on Friday"})
                assert stored.structured_content is not None  # an own-namespace memory write runs at once
                held = await client.call_tool("memory.forget", {"memory_id": stored.structured_content["id"]})
                stats = await client.call_tool("memory.stats", {})
    assert {"memory.remember", "memory.recall", "memory.stats"} <= names
    block = held.content[0]
    assert isinstance(block, types.TextContent) and block.text.startswith("held for approval, id ")
    assert stats.structured_content is not None  # the held forget closed nothing
    assert stats.structured_content["current"] == stats.structured_content["memories"] >= 1
