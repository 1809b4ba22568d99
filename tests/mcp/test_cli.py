"""`sophia mcp list` and `sophia mcp call` against the fixture server, with `mcp_servers` in the settings."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import Field
from typer.testing import CliRunner

from sophia.cli._common import CliState
from sophia.cli._mcp import app
from sophia.config import Settings
from sophia.mcp import McpServerSettings
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


def test_call_runs_a_tool_and_bad_input_exits_2(tmp_path: Path) -> None:
    state = _state(tmp_path, fixture_server(env={"FIXTURE_GREETING": "cli"}))
    ok = CliRunner().invoke(app, ["call", "fx", "echo", "--args", '{"text": "hi"}'], obj=state)
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output) == {"result": "cli: hi"}
    bad_json = CliRunner().invoke(app, ["call", "fx", "echo", "--args", "{nope"], obj=state)
    unknown = CliRunner().invoke(app, ["call", "nope", "echo"], obj=state)
    assert bad_json.exit_code == 2 and "not valid JSON" in bad_json.output
    assert unknown.exit_code == 2 and "no MCP server named 'nope'" in unknown.output
