"""`sophia mcp serve memory --transport stdio` as a real subprocess, driven by the official client.

Own-namespace memory writes run at once; a call that needs a person is asked in the client (elicitation) when
the client can answer, and otherwise stays held for `sophia approvals approve ID` (a real subprocess too).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import mcp_types as types

from mcp import Client, StdioServerParameters
from tests.serving import clean_env, sophia


def _parameters(home: Path) -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "sophia", "mcp", "serve", "memory", "--transport", "stdio", "--embedder", "hashing"],
        env=clean_env(home),
        cwd=str(Path(__file__).parents[2]),
    )


def _text(result: types.CallToolResult) -> str:
    block = result.content[0]
    assert isinstance(block, types.TextContent)
    return block.text


async def _remember(client: Client, content: str) -> str:
    stored = await client.call_tool("memory.remember", {"content": content})
    assert not stored.is_error and stored.structured_content is not None, _text(stored)
    return str(stored.structured_content["id"])


async def test_memory_server_over_stdio_remembers_and_asks_in_the_client(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    asked: list[str] = []

    async def answer(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        asked.append(params.message)  # yes to the first question, no to the second
        return types.ElicitResult(action="accept", content={"approve": len(asked) == 1})

    async with Client(_parameters(home), read_timeout_seconds=60, elicitation_callback=answer) as client:
        names = [tool.name for tool in (await client.list_tools()).tools]
        first = await _remember(client, "stdio works")
        kept = await _remember(client, "keep this one")
        forgotten = await client.call_tool("memory.forget", {"memory_id": first})
        refused = await client.call_tool("memory.forget", {"memory_id": kept})
        stats = await client.call_tool("memory.stats", {})
        resources = [r.uri for r in (await client.list_resources()).resources]
    assert names == ["memory.forget", "memory.graph", "memory.recall", "memory.remember", "memory.stats"]
    assert resources == ["memory://stats"]
    assert not forgotten.is_error and json.loads(_text(forgotten)) == {"forgotten": 1}
    assert refused.is_error and "was refused in the client" in _text(refused)
    assert (
        len(asked) == 2 and first in asked[0] and kept in asked[1]
    )  # asked once per call, with its arguments
    assert stats.structured_content is not None and stats.structured_content["current"] == 1
    listed = json.loads(sophia(clean_env(home), "approvals", "list", "--status", "all", "--json").stdout)
    assert sorted(row["status"] for row in listed) == ["approved", "denied"]


async def test_without_elicitation_a_held_call_is_approved_with_sophia_approvals(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = clean_env(home)
    async with Client(_parameters(home), read_timeout_seconds=60) as client:
        memory_id = await _remember(client, "the launch is on friday")
        held = await client.call_tool("memory.forget", {"memory_id": memory_id})
        assert held.structured_content is not None and _text(held).startswith("held for approval, id ")
        approval_id = held.structured_content["approval_id"]

        (pending,) = json.loads(sophia(env, "approvals", "list", "--json").stdout)
        assert (pending["id"], pending["tool"], pending["run_id"]) == (approval_id, "memory.forget", None)
        approved = sophia(env, "approvals", "approve", approval_id)
        assert f"approval {approval_id}: approved" in approved.stdout
        assert '"forgotten": 1' in approved.stdout  # nobody waits for it, so approving ran it, here
        again = sophia(env, "approvals", "approve", approval_id, check=False)
        assert again.returncode != 0 and "already approved" in again.stdout + again.stderr
        stats = await client.call_tool("memory.stats", {})
    assert stats.structured_content is not None and stats.structured_content["current"] == 0
    assert sophia(env, "approvals", "list").stdout.strip() == "no pending approvals"
    unknown = sophia(env, "approvals", "deny", "nope", check=False)
    assert unknown.returncode != 0 and "no tool approval 'nope'" in unknown.stdout + unknown.stderr
