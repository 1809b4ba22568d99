"""`sophia mcp serve memory --transport stdio` as a real subprocess, driven by the official client."""

from __future__ import annotations

import sys
from pathlib import Path

import mcp_types as types

from mcp import Client, StdioServerParameters
from sophia.cli import app as cli_app
from tests.serving import clean_env


def _command() -> list[str]:
    """`python -m sophia mcp …` once the group is wired into the CLI; until then the module runs on its own."""
    wired = any(group.name == "mcp" for group in cli_app.registered_groups)
    return ["-m", "sophia", "mcp"] if wired else ["-m", "sophia.cli._mcp"]


async def test_memory_server_over_stdio_lists_reads_and_holds_writes(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    parameters = StdioServerParameters(
        command=sys.executable,
        args=[*_command(), "serve", "memory", "--transport", "stdio", "--embedder", "hashing"],
        env=clean_env(home),
        cwd=str(Path(__file__).parents[2]),
    )
    async with Client(parameters, read_timeout_seconds=60) as client:
        names = [tool.name for tool in (await client.list_tools()).tools]
        stats = await client.call_tool("memory.stats", {})
        held = await client.call_tool("memory.remember", {"content": "stdio works"})
        resources = [r.uri for r in (await client.list_resources()).resources]
    assert names == ["memory.forget", "memory.recall", "memory.remember", "memory.stats"]
    assert not stats.is_error and stats.structured_content is not None
    assert stats.structured_content["memories"] == 0
    block = held.content[0]
    assert isinstance(block, types.TextContent) and block.text.startswith("held for approval, id ")
    assert resources == ["memory://stats"]
