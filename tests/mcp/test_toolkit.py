"""The toolkit every shell builds (`sophia serve`'s chat and run worker, `sophia run`, `sophia approvals`) carries
the `[[mcp_servers]]` tools, not only `sophia mcp`."""

from __future__ import annotations

from pathlib import Path

from sophia.accounts import Role
from sophia.config import Settings
from sophia.runs import default_agents
from sophia.server import open_toolkit
from sophia.store import Database
from sophia.tools import ToolContext
from tests.mcp.conftest import fixture_server


async def test_external_mcp_tools_reach_the_chat_and_run_agents(
    database: Database, _isolated_sophia_home: Path
) -> None:
    settings = Settings(
        home=_isolated_sophia_home, mcp_servers=[fixture_server(env={"FIXTURE_GREETING": "kit"})]
    )
    kit = await open_toolkit(settings, database, None)
    try:
        assert {"fx.echo", "fx.write_note"} <= {tool.name for tool in kit.registry.tools()}
        assert "fx.echo" in default_agents(kit.registry)["chat"].tools  # read tools are the chat agent's
        context = ToolContext(user_id=1, user_name="ada", role=Role.MEMBER, run_id="run_x")
        echoed = await kit.invoker.invoke("fx.echo", {"text": "hi"}, context)
        assert echoed.output == {"result": "kit: hi"}
    finally:
        await kit.aclose()
