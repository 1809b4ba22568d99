"""Typed settings from `sophia.toml` and `SOPHIA_*` environment variables (see `_settings.py`)."""

from sophia.config._mcp import McpHttpSettings, McpServerSettings
from sophia.config._settings import (
    PROVIDER_KINDS,
    SECRET_SCHEMES,
    TASKS,
    LoggingSettings,
    ModelSettings,
    ProviderSettings,
    RoutingSettings,
    SecretRef,
    ServerSettings,
    Settings,
    StorageSettings,
    WebSettings,
    find_config_file,
    format_location,
    load_settings,
    redact_url,
    suggest,
)
from sophia.config._tools import ShellSettings, ToolSettings, WebFetchSettings

__all__ = [
    "PROVIDER_KINDS",
    "SECRET_SCHEMES",
    "TASKS",
    "LoggingSettings",
    "McpHttpSettings",
    "McpServerSettings",
    "ModelSettings",
    "ProviderSettings",
    "RoutingSettings",
    "SecretRef",
    "ServerSettings",
    "Settings",
    "ShellSettings",
    "StorageSettings",
    "ToolSettings",
    "WebFetchSettings",
    "WebSettings",
    "find_config_file",
    "format_location",
    "load_settings",
    "redact_url",
    "suggest",
]
