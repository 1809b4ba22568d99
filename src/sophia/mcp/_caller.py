"""Who is calling an MCP handler: the API key's principal over HTTP, the local operator over stdio."""

from __future__ import annotations

from typing import Any

import mcp_types as types
from mcp.server import ServerRequestContext

from mcp import MCPError
from sophia.accounts import Principal
from sophia.tools import ToolContext

__all__ = ["PRINCIPAL_KEY", "caller_context"]

PRINCIPAL_KEY = "sophia_principal"
"""Where the HTTP authentication layer leaves the verified principal in the ASGI scope's `state`."""


def caller_context(ctx: ServerRequestContext[Any, Any], local: ToolContext, server: str) -> ToolContext:
    """The principal the HTTP layer verified; an HTTP request without one is refused, never treated as local."""
    request = ctx.request
    if request is None:
        return local
    scope = getattr(request, "scope", None)
    state = scope.get("state") if isinstance(scope, dict) else None
    principal = state.get(PRINCIPAL_KEY) if isinstance(state, dict) else None
    if not isinstance(principal, Principal):
        raise MCPError(
            types.INVALID_REQUEST, "this MCP endpoint needs a Sophia API key (Authorization: Bearer)"
        )
    return ToolContext.of(principal, agent=f"mcp:{server}")
