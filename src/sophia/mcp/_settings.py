"""The MCP settings models are part of core settings (`sophia.config`); re-exported here for MCP code."""

from sophia.config import McpHttpSettings, McpServerSettings

__all__ = ["McpHttpSettings", "McpServerSettings"]
