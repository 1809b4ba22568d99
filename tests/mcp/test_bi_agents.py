"""`bi.recruit_match` and `bi.strategy` on the `data` MCP server, driven by the official client: recruiting is for
admins only; the strategy answers anyone with its evidence."""

from __future__ import annotations

import mcp_types as types

from mcp import Client
from sophia.accounts import Role
from sophia.bi import RecruitDesk, parse_candidate, parse_role
from sophia.mcp import McpRuntime, build_server
from sophia.tools import ToolContext
from tests.bi.test_recruit import ANA, BEN, ROLE


def _text(result: types.CallToolResult) -> str:
    block = result.content[0]
    assert isinstance(block, types.TextContent)
    return block.text


async def test_recruit_match_is_for_admins_and_strategy_for_anyone(runtime: McpRuntime) -> None:
    assert runtime.memory is not None
    desk = RecruitDesk(runtime.memory)
    await desk.add_role(parse_role(ROLE))
    for resume in (ANA, BEN):
        await desk.add_candidate(parse_candidate(resume))
    runtime.context = ToolContext(user_id=1, user_name="ada", role=Role.ADMIN, agent="mcp")
    async with Client(build_server("data", runtime)) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        ranked = await client.call_tool("bi.recruit_match", {"role_id": "senior-backend-engineer", "k": 2})
    assert {"bi.recruit_match", "bi.strategy"} <= names
    assert not ranked.is_error and "Tuned PostgreSQL queries" in _text(ranked)
    assert _text(ranked).index("ana-silva") < _text(ranked).index("ben-berg")
    runtime.context = ToolContext(user_id=2, user_name="mia", role=Role.MEMBER, agent="mcp")
    async with Client(build_server("data", runtime)) as client:
        denied = await client.call_tool("bi.recruit_match", {"role_id": "senior-backend-engineer"})
        plan = await client.call_tool("bi.strategy", {})
    assert denied.is_error and "only admins" in _text(denied) and "Ana" not in _text(denied)
    assert not plan.is_error and '"items"' in _text(plan)
