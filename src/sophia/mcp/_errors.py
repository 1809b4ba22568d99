"""MCP errors: each says which server or tool, what went wrong and what to do next."""

from __future__ import annotations

from sophia.errors import NotFound, SophiaError

__all__ = ["EmptyMcpServer", "McpServerUnavailable", "McpToolError", "UnknownMcpServer"]


class McpServerUnavailable(SophiaError):
    """An external MCP server could not be reached, hung or died; the next call reconnects."""

    code = "mcp_unavailable"
    http_status = 502


class McpToolError(SophiaError):
    """The external server ran the tool and reported an error (`isError`)."""

    code = "mcp_tool_error"
    http_status = 502


class UnknownMcpServer(NotFound):
    code = "unknown_mcp_server"

    def __init__(self, name: str, known: list[str]) -> None:
        choices = ", ".join(known) if known else "none are configured"
        super().__init__(f"there is no MCP server named {name[:40]!r} (known: {choices})")
        self.name = name


class EmptyMcpServer(NotFound):
    """A tool group with no tool behind it yet (its connectors have not landed) is not served."""

    code = "unknown_mcp_server"

    def __init__(self, name: str, served: list[str]) -> None:
        super().__init__(
            f"the {name} MCP server has no tools yet, so it is not served; serve one of {', '.join(served)}"
        )
        self.name = name
