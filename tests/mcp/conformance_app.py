"""Sophia's `all` MCP server over streamable HTTP for the official conformance suite and the MCP Inspector.

Run by `scripts/mcp-conformance`: `python -m tests.mcp.conformance_app PORT`. The suite cannot send an API key,
so this harness stands in for the auth layer with a fixed member principal; everything else (registry, invoker,
approval policy, Host/Origin checks) is Sophia's own. The two plain fixture tools go through Sophia's registry and
invoker; the rest (image, audio, embedded resources, logging, progress, sampling, elicitation, `test://` resources,
prompts, completions) come from `conformance_fixtures`, put in front of Sophia's `all` server here only.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path
from typing import Any

import uvicorn
from starlette.types import Receive, Scope, Send

from sophia.accounts import Principal, Role
from sophia.config import Settings
from sophia.mcp import McpHttpSettings, build_server, open_runtime, security_settings
from sophia.mcp._caller import PRINCIPAL_KEY
from sophia.store import Database, upgrade
from sophia.tools import ApprovalPolicy, ToolRegistry
from tests.mcp.conformance_fixtures import wrap_server

CALLER = Principal(1, "conformance", Role.MEMBER, 1, ("*",), None)


def add_fixture_tools(registry: ToolRegistry) -> None:
    """The tools the conformance scenarios call, by the names they use."""

    @registry.tool("test_simple_text", group="data")
    def simple_text() -> str:
        """Returns a simple text response."""
        return "This is a simple text response for testing."

    @registry.tool("test_error_handling", group="data")
    def error_handling() -> str:
        """Always fails, to test error results."""
        raise RuntimeError("This tool intentionally returns an error for testing")


class _AsCaller:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope.setdefault("state", {})[PRINCIPAL_KEY] = CALLER
        await self.app(scope, receive, send)


async def _runtime(home: Path) -> Any:
    url = f"sqlite+aiosqlite:///{home / 'sophia.db'}"
    await upgrade(url)
    runtime = await open_runtime(Settings(home=home), Database(url), embedder="hashing")
    add_fixture_tools(runtime.registry)
    runtime.invoker.policy = ApprovalPolicy({"test_simple_text": {"*": "auto"}})
    return runtime


def main(port: int) -> None:
    home = Path(tempfile.mkdtemp(prefix="sophia-conformance-"))
    runtime = asyncio.run(_runtime(home))
    server = wrap_server(build_server("all", runtime))
    app = server.streamable_http_app(
        streamable_http_path="/mcp", transport_security=security_settings(McpHttpSettings())
    )
    uvicorn.run(_AsCaller(app), host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main(int(sys.argv[1]))
