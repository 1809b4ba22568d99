"""Each Sophia MCP server driven in-process by the official client, in both protocol eras."""

from __future__ import annotations

from typing import Any

import mcp_types as types
import pytest

from mcp import Client, MCPError
from sophia.accounts import Role
from sophia.mcp import EmptyMcpServer, McpRuntime, build_server, served_names
from sophia.tools import SideEffect, ToolContext, list_tool_audit
from tests.tools.conftest import principal

MODES = ["auto", "legacy"]


def _text(result: types.CallToolResult) -> str:
    block = result.content[0]
    assert isinstance(block, types.TextContent)
    return block.text


@pytest.mark.parametrize("name", ["memory", "research", "code", "all"])
async def test_each_server_lists_exactly_its_registry_group(runtime: McpRuntime, name: str) -> None:
    group = None if name == "all" else name
    async with Client(build_server(name, runtime)) as client:
        listed = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert sorted(listed) == [tool.name for tool in runtime.registry.tools(group)]
    for tool in runtime.registry.tools(group):
        hints = listed[tool.name].annotations
        assert hints is not None
        assert hints.read_only_hint is (tool.effect is SideEffect.READ)
        assert hints.destructive_hint is (tool.effect is SideEffect.DESTROY)


@pytest.mark.parametrize("name", ["infra", "integrations"])
async def test_groups_without_tools_are_not_served(runtime: McpRuntime, name: str) -> None:
    assert served_names(runtime.registry) == ["memory", "research", "code", "data", "all"]
    with pytest.raises(EmptyMcpServer, match=f"the {name} MCP server has no tools yet"):
        build_server(name, runtime)


@pytest.mark.parametrize("mode", MODES)
async def test_tool_added_to_the_registry_appears_and_runs_without_server_code(
    runtime: McpRuntime, mode: str
) -> None:
    @runtime.registry.tool("sales.total", group="integrations")
    def total(region: str) -> dict[str, Any]:
        """Total sales in a region."""
        return {"region": region, "total": 42}

    server = build_server("integrations", runtime)  # a group is served once it has a tool

    async with Client(server, mode=mode) as client:
        assert [t.name for t in (await client.list_tools()).tools] == ["sales.total"]
        result = await client.call_tool("sales.total", {"region": "emea"})
    assert not result.is_error
    assert result.structured_content == {"region": "emea", "total": 42}


@pytest.mark.parametrize("mode", MODES)
async def test_own_memory_writes_run_and_a_forget_is_held_until_approved(
    runtime: McpRuntime, mode: str
) -> None:
    async with Client(build_server("memory", runtime), mode=mode) as client:
        stored = await client.call_tool("memory.remember", {"content": "The deploy window is Tuesday."})
        assert not stored.is_error and stored.structured_content is not None
        memory_id = stored.structured_content["id"]
        held = await client.call_tool("memory.forget", {"memory_id": memory_id})
        assert not held.is_error
        assert _text(held).startswith("held for approval, id ")
        approval_id = held.structured_content["approval_id"]
        record = await runtime.invoker.approval(approval_id)
        assert (record.status, record.tool, record.agent) == ("pending", "memory.forget", "mcp")
        assert "Tuesday" in _text(await client.call_tool("memory.recall", {"query": "deploy window"}))

        await runtime.invoker.approve(approval_id, principal(role=Role.ADMIN))
        await runtime.invoker.invoke_approved(approval_id)
        recalled = await client.call_tool("memory.recall", {"query": "deploy window"})
    assert "Tuesday" not in _text(recalled)
    async with runtime.invoker.database.session() as session:
        actions = [entry.action for entry in await list_tool_audit(session)]
    assert "tool.approval_requested" in actions and actions.count("tool.call") == 2


async def test_tool_errors_come_back_as_results_the_model_can_read(runtime: McpRuntime) -> None:
    async with Client(build_server("memory", runtime)) as client:
        bad = await client.call_tool("memory.recall", {"query": "x", "k": 0})
        assert bad.is_error and "k" in _text(bad)
        with pytest.raises(MCPError, match="no tool named"):
            await client.call_tool("memory.nope", {})
        with pytest.raises(MCPError, match="has no tool named 'web.fetch'"):
            await client.call_tool("web.fetch", {"url": "http://127.0.0.1/"})


async def test_viewer_is_not_offered_writes_and_cannot_call_them(runtime: McpRuntime) -> None:
    runtime.context = ToolContext(user_id=7, user_name="vic", role=Role.VIEWER, agent="mcp")
    async with Client(build_server("memory", runtime)) as client:
        names = [t.name for t in (await client.list_tools()).tools]
        denied = await client.call_tool("memory.remember", {"content": "x"})
    assert names == ["memory.graph", "memory.recall", "memory.stats"]
    assert denied.is_error and "does not let the viewer role" in _text(denied)


async def test_memories_are_resources_scoped_to_the_caller(runtime: McpRuntime) -> None:
    assert runtime.memory is not None
    mine = await runtime.memory.remember("Ada prefers short answers.", namespace="global")
    theirs = await runtime.memory.remember("Bob's secret plan.", namespace="user:99")
    async with Client(build_server("memory", runtime)) as client:
        listed = [r.uri for r in (await client.list_resources()).resources]
        templates = [t.uri_template for t in (await client.list_resource_templates()).resource_templates]
        read = await client.read_resource(f"memory://memories/{mine}")
        stats = await client.read_resource("memory://stats")
        with pytest.raises(MCPError, match="namespaces you may read"):
            await client.read_resource(f"memory://memories/{theirs}")
    assert listed == ["memory://stats"] and templates == ["memory://memories/{id}"]
    content = read.contents[0]
    assert isinstance(content, types.TextResourceContents) and "short answers" in content.text
    assert (
        isinstance(stats.contents[0], types.TextResourceContents)
        and '"memories": 1' in stats.contents[0].text  # Bob's memory is not counted for this caller
    )


async def test_recall_context_prompt_grounds_on_recalled_memories(runtime: McpRuntime) -> None:
    assert runtime.memory is not None
    await runtime.memory.remember("The staging database lives in Frankfurt.", namespace="global")
    async with Client(build_server("memory", runtime)) as client:
        prompts = [p.name for p in (await client.list_prompts()).prompts]
        prompt = await client.get_prompt("recall_context", {"topic": "staging database"})
    assert prompts == ["recall_context"]
    message = prompt.messages[0].content
    assert isinstance(message, types.TextContent) and "Frankfurt" in message.text


async def test_servers_without_memory_offer_no_resources(runtime: McpRuntime) -> None:
    async with Client(build_server("code", runtime)) as client:
        assert client.server_capabilities.resources is None
        assert client.server_capabilities.prompts is None
