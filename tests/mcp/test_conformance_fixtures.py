"""The conformance harness's fixtures sit in front of Sophia's server without replacing or adding to it."""

from __future__ import annotations

import mcp_types as types

from mcp import Client
from sophia.mcp import McpRuntime, build_server
from tests.mcp.conformance_fixtures import wrap_server


async def test_fixtures_answer_first_and_sophias_own_handlers_still_serve_the_rest(
    runtime: McpRuntime,
) -> None:
    async with Client(wrap_server(build_server("all", runtime))) as client:
        tools = [tool.name for tool in (await client.list_tools()).tools]
        image = await client.call_tool("test_image_content", {})
        held = await client.call_tool("workspace.write", {"path": "a.txt", "content": "through the harness"})
        resources = [r.uri for r in (await client.list_resources()).resources]
        prompts = [p.name for p in (await client.list_prompts()).prompts]
    assert "memory.remember" in tools and "test_image_content" in tools
    assert isinstance(image.content[0], types.ImageContent) and image.content[0].mime_type == "image/png"
    assert held.structured_content is not None and held.structured_content["status"] == "held_for_approval"
    assert {"memory://stats", "runs://runs", "test://static-text"} <= set(resources)
    assert "recall_context" in prompts and "test_simple_prompt" in prompts


async def test_sophias_servers_themselves_offer_no_fixtures(runtime: McpRuntime) -> None:
    async with Client(build_server("all", runtime)) as client:
        tools = [tool.name for tool in (await client.list_tools()).tools]
        prompts = [p.name for p in (await client.list_prompts()).prompts]
    assert not [name for name in tools + prompts if name.startswith("test_")]
