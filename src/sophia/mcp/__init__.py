"""MCP: Sophia's tool groups served as MCP servers, and external MCP servers plugged in as Sophia tools."""

from sophia.mcp._bridge import McpClients, effect_of, local_tool_name, result_value
from sophia.mcp._client import McpConnection
from sophia.mcp._errors import EmptyMcpServer, McpServerUnavailable, McpToolError, UnknownMcpServer
from sophia.mcp._http import McpHttpEndpoint, install_mcp, security_settings
from sophia.mcp._runs import RUN_TEMPLATE, RUNS_URI, RunResources, run_principal
from sophia.mcp._runtime import LOCAL_CONTEXT, McpRuntime, mcp_server_settings, open_runtime
from sophia.mcp._server import SERVER_NAMES, build_server, held_for_approval, served_names
from sophia.mcp._settings import McpHttpSettings, McpServerSettings

__all__ = [
    "LOCAL_CONTEXT",
    "RUNS_URI",
    "RUN_TEMPLATE",
    "SERVER_NAMES",
    "EmptyMcpServer",
    "McpClients",
    "McpConnection",
    "McpHttpEndpoint",
    "McpHttpSettings",
    "McpRuntime",
    "McpServerSettings",
    "McpServerUnavailable",
    "McpToolError",
    "RunResources",
    "UnknownMcpServer",
    "build_server",
    "effect_of",
    "held_for_approval",
    "install_mcp",
    "local_tool_name",
    "mcp_server_settings",
    "open_runtime",
    "result_value",
    "run_principal",
    "security_settings",
    "served_names",
]
