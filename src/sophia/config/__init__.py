"""Typed settings from `sophia.toml` and `SOPHIA_*` environment variables (see `_settings.py`)."""

from sophia.config._bi import REPORT_KINDS, BiSettings, ReportSettings
from sophia.config._coding import CodingSettings
from sophia.config._connectors import ConnectorSettings, EventTrigger
from sophia.config._learning import LearningSettings
from sophia.config._mcp import McpHttpSettings, McpServerSettings
from sophia.config._refs import SECRET_SCHEMES, SecretRef
from sophia.config._research import SOURCE_KINDS, ResearchSettings, ResearchSourceSettings
from sophia.config._runs import RunsSettings
from sophia.config._settings import (
    PROVIDER_KINDS,
    TASKS,
    BudgetSettings,
    CacheSettings,
    EscSettings,
    LoggingSettings,
    MemoryBackendSettings,
    ModelSettings,
    ProviderSettings,
    RoutingSettings,
    SecretsSettings,
    ServerSettings,
    Settings,
    StorageSettings,
    VaultSettings,
    WebSettings,
    cache_problems,
    find_config_file,
    format_location,
    load_settings,
    memory_problems,
    redact_url,
    suggest,
)
from sophia.config._tools import ShellSettings, ToolSettings, WebFetchSettings

__all__ = [
    "PROVIDER_KINDS",
    "REPORT_KINDS",
    "SECRET_SCHEMES",
    "SOURCE_KINDS",
    "TASKS",
    "BiSettings",
    "BudgetSettings",
    "LearningSettings",
    "CacheSettings",
    "CodingSettings",
    "ConnectorSettings",
    "EscSettings",
    "EventTrigger",
    "LoggingSettings",
    "McpHttpSettings",
    "McpServerSettings",
    "MemoryBackendSettings",
    "ModelSettings",
    "ProviderSettings",
    "ReportSettings",
    "ResearchSettings",
    "ResearchSourceSettings",
    "RoutingSettings",
    "RunsSettings",
    "SecretRef",
    "SecretsSettings",
    "ServerSettings",
    "Settings",
    "ShellSettings",
    "StorageSettings",
    "ToolSettings",
    "VaultSettings",
    "WebFetchSettings",
    "WebSettings",
    "find_config_file",
    "format_location",
    "cache_problems",
    "load_settings",
    "memory_problems",
    "redact_url",
    "suggest",
]
