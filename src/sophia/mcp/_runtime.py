"""`McpRuntime`: what Sophia's MCP servers call into: registry, invoker, memory, runs, external servers."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from sophia.accounts import AccountService, Role
from sophia.config import Settings
from sophia.mcp._bridge import McpClients
from sophia.mcp._settings import McpServerSettings
from sophia.memory import Embedder, EmbeddingModelUnavailable, HashingEmbedder, MemoryService
from sophia.runs import RunService, system_database_url
from sophia.secrets import SecretResolver
from sophia.store import Database
from sophia.tools import ToolContext, ToolInvoker, ToolRegistry, ToolSettings, register_builtin_tools

__all__ = ["LOCAL_CONTEXT", "McpRuntime", "mcp_server_settings", "open_runtime"]

log = logging.getLogger("sophia.mcp")

LOCAL_CONTEXT = ToolContext(user_name="local", role=Role.MEMBER, agent="mcp")
"""Who calls over stdio when no API key is given: the person who started the process, as a member."""


@dataclass
class McpRuntime:
    """The services one MCP endpoint needs; `aclose` releases what `open_runtime` opened."""

    registry: ToolRegistry
    invoker: ToolInvoker
    accounts: AccountService | None = None
    memory: MemoryService | None = None
    runs: RunService | None = None
    clients: McpClients | None = None
    context: ToolContext = LOCAL_CONTEXT
    owned: list[Any] = field(default_factory=list, repr=False)

    async def aclose(self) -> None:
        if self.clients is not None:
            await self.clients.aclose()
        if self.runs is not None:
            await self.runs.aclose()
        for resource in reversed(self.owned):
            await resource.close()
        self.owned.clear()


def mcp_server_settings(settings: Any) -> list[McpServerSettings]:
    """`settings.mcp_servers` as models: entries may be these, plain dicts, or a same-shaped model from config."""
    entries: Sequence[Any] = getattr(settings, "mcp_servers", None) or []
    found: list[McpServerSettings] = []
    for entry in entries:
        if isinstance(entry, BaseModel) and not isinstance(entry, McpServerSettings):
            entry = entry.model_dump()  # a copy of the model declared in core config (no shells import there)
        found.append(
            entry if isinstance(entry, McpServerSettings) else McpServerSettings.model_validate(entry)
        )
    return found


def _run_service(settings: Any, database: Database, invoker: ToolInvoker) -> RunService:
    """Read-only use (list, show): the DBOS system database is only touched by approve/deny/cancel."""
    if isinstance(settings, Settings):
        system_url = system_database_url(settings)
    else:
        system_url = f"sqlite:///{getattr(settings, 'home', '.')}/dbos.sqlite"
    return RunService(database, invoker, system_database_url=system_url)


def _embedder(kind: str) -> Embedder:
    if kind == "hashing":
        return HashingEmbedder()
    from sophia.memory import MiniLMEmbedder

    try:
        return MiniLMEmbedder()
    except EmbeddingModelUnavailable as error:
        log.warning("memory: %s; using the hashing embedder", error.message)
        return HashingEmbedder()


async def open_runtime(
    settings: Any,
    database: Database,
    *,
    embedder: Embedder | str | None = "minilm",
    context: ToolContext = LOCAL_CONTEXT,
    connect_external: bool = True,
    errlog: Any = None,
    runs: bool = True,
) -> McpRuntime:
    """Build the registry (built-in tools, memory tools, external MCP tools) and an invoker on `database`.

    `embedder=None` leaves memory out; a string picks `minilm` (the bundled model) or `hashing`.
    `runs=False` leaves the runs resources out.
    """
    tool_settings: ToolSettings = getattr(settings, "tools", None) or ToolSettings()
    registry = ToolRegistry()
    runtime = McpRuntime(registry, ToolInvoker(registry, database, settings=tool_settings), context=context)
    runtime.accounts = AccountService(database)
    if runs:
        runtime.runs = _run_service(settings, database, runtime.invoker)
    if embedder is not None:
        chosen = _embedder(embedder) if isinstance(embedder, str) else embedder
        home = getattr(settings, "home", None)
        index_path = home / "memory" / "vectors.npz" if home is not None else None
        if index_path is not None:
            index_path.parent.mkdir(parents=True, exist_ok=True)
        runtime.memory = await MemoryService.open(database, chosen, index_path=index_path)
        runtime.owned.append(runtime.memory)
    register_builtin_tools(registry, tool_settings, memory=runtime.memory)
    servers = mcp_server_settings(settings)
    if servers:
        secrets = getattr(settings, "secrets", None)
        resolver = SecretResolver(settings.home, getattr(secrets, "key_file", None))
        runtime.clients = McpClients(servers, resolver.resolve, errlog=errlog)
        if connect_external:
            await runtime.clients.register_tools(registry)
    return runtime
