"""`sophia mcp list` and `sophia mcp call` against the fixture server, with `mcp_servers` in the settings."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from click.testing import Result
from pydantic import Field
from typer.testing import CliRunner

from sophia.cli._common import CliState
from sophia.cli._mcp import app
from sophia.config import Settings
from sophia.mcp import McpServerSettings
from sophia.store import Database, resolve_database_url
from sophia.tools import list_tool_audit
from tests.mcp.conftest import fixture_server


class WiredSettings(Settings):
    """Settings as they will be once `mcp_servers` is declared on them."""

    mcp_servers: list[McpServerSettings] = Field(default_factory=list)


def _state(home: Path, *servers: McpServerSettings) -> CliState:
    state = CliState(None)
    state._settings = WiredSettings(home=home, mcp_servers=list(servers))
    return state


def test_list_shows_each_server_and_its_tools_and_a_dead_one_with_its_error(tmp_path: Path) -> None:
    broken = fixture_server(name="broken", command="/nonexistent/server", args=[])
    state = _state(tmp_path, fixture_server(), broken)
    result = CliRunner().invoke(app, ["list", "--json"], obj=state)
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.output)}
    assert "echo" in rows["fx"]["tools"] and "getPid" in rows["fx"]["tools"]
    assert "check its command" in rows["broken"]["error"]


def _audit(settings: Settings) -> list[tuple[str, str]]:
    async def read() -> list[tuple[str, str]]:
        database = Database(resolve_database_url(settings))
        try:
            async with database.session() as session:
                return [(entry.action, entry.target) for entry in await list_tool_audit(session)]
        finally:
            await database.close()

    return asyncio.run(read())


def _call(state: CliState, *argv: str) -> Result:
    return CliRunner().invoke(app, ["call", *argv, "--embedder", "hashing"], obj=state)


def test_call_goes_through_the_invoker_so_writes_are_held_and_audited(tmp_path: Path) -> None:
    state = _state(tmp_path, fixture_server(env={"FIXTURE_GREETING": "cli"}))
    stats = _call(state, "memory", "stats")
    remember = _call(state, "memory", "memory.remember", "--args", '{"content": "cli note"}')
    echo = _call(state, "fx", "echo", "--args", '{"text": "hi"}')
    external_write = _call(state, "fx", "write_note", "--args", '{"title": "minutes"}')
    for result in (stats, remember, echo, external_write):
        assert result.exit_code == 0, result.output
    assert json.loads(stats.stdout)["memories"] == 0
    assert json.loads(echo.stdout) == {"result": "cli: hi"}
    assert json.loads(remember.stdout)["namespace"] == "global"  # own-namespace memory writes run by default
    held = json.loads(external_write.stdout)
    assert held["status"] == "held_for_approval" and held["tool"] == "fx.write_note"
    assert f"sophia approvals approve {held['approval_id']}" in held["message"]
    assert json.loads(_call(state, "memory", "stats").stdout)["memories"] == 1
    assert sorted(_audit(state.settings())) == [  # reads are not audited; writes that ran and held ones are
        ("tool.approval_requested", "fx.write_note"),
        ("tool.call", "memory.remember"),
    ]


def test_direct_call_is_a_labelled_diagnostic_that_skips_approvals(tmp_path: Path) -> None:
    state = _state(tmp_path, fixture_server())
    result = CliRunner().invoke(
        app, ["call", "fx", "write_note", "--args", '{"title": "t"}', "--direct"], obj=state
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"result": "stored t"}
    assert "diagnostic" in result.stderr and "bypassed" in result.stderr


def test_call_bad_input_exits_2_with_a_clear_message(tmp_path: Path) -> None:
    state = _state(tmp_path, fixture_server())
    bad_json = _call(state, "fx", "echo", "--args", "{nope")
    unknown = _call(state, "nope", "echo")
    foreign = _call(state, "memory", "fx.echo")
    assert bad_json.exit_code == 2 and "not valid JSON" in bad_json.output
    assert unknown.exit_code == 2 and "no MCP server named 'nope'" in unknown.output
    assert foreign.exit_code == 2 and "memory MCP server has no tool named 'fx.echo'" in foreign.output
