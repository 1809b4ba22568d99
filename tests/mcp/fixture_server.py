"""A tiny external MCP server for the tests (stdio): read, write and destructive tools, one that hangs, its pid.

Run as `python tests/mcp/fixture_server.py`; `FIXTURE_GREETING` shows that env values reach it.
"""

from __future__ import annotations

import asyncio
import os

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations

server = MCPServer("fixture")


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def echo(text: str) -> str:
    """Echo the text back, prefixed with FIXTURE_GREETING."""
    return f"{os.environ.get('FIXTURE_GREETING', 'echo')}: {text}"


@server.tool(name="getPid", annotations=ToolAnnotations(read_only_hint=True))
def get_pid() -> int:
    """This server's process id, so a test can kill it."""
    return os.getpid()


@server.tool()
def write_note(title: str) -> str:
    """Pretend to store a note (no annotations: a write)."""
    return f"stored {title}"


@server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True))
def drop_notes() -> str:
    """Pretend to delete every note."""
    return "dropped"


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
async def hang(seconds: float) -> str:
    """Sleep, to stand in for a server that stops answering."""
    await asyncio.sleep(seconds)
    return "woke"


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def fail(reason: str) -> str:
    """Raise, so the result comes back with isError."""
    raise ToolError(reason)


if __name__ == "__main__":
    server.run("stdio")
