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
from sophia.memory import Embedder, EmbeddingModelUnavailable, HashingEmbedder, MemoryService, open_memory
from sophia.runs import RunService, system_database_url
from sophia.store import Database
from sophia.tools import ToolContext, ToolInvoker, ToolRegistry

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
    owned_kit: Any = field(default=None, repr=False)
    """The toolkit `open_runtime` opened for this runtime (none when it uses the server's own)."""

    async def aclose(self) -> None:
        if self.owned_kit is not None:
            await self.owned_kit.aclose()  # its external MCP clients and connectors
            self.owned_kit = None
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


def _run_service(settings: Settings, database: Database, invoker: ToolInvoker) -> RunService:
    """Read-only use (list, show): the DBOS system database is only touched by approve/deny/cancel."""
    return RunService(database, invoker, system_database_url=system_database_url(settings))


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
    settings: Settings,
    database: Database,
    *,
    embedder: Embedder | str | None = "minilm",
    context: ToolContext = LOCAL_CONTEXT,
    connect_external: bool = True,
    errlog: Any = None,
    runs: bool = True,
    memory: MemoryService | None = None,
    kit: Any = None,
) -> McpRuntime:
    """Build the process's tools (`open_toolkit`: built-ins, memory tools, external MCP tools) on `database`.

    `memory` is the process's service when it has one (`sophia serve`): one index and cache per process.
    Otherwise `embedder=None` leaves memory out; a string picks `minilm` (the bundled model) or `hashing`.
    `runs=False` leaves the runs resources out. `kit` is the server's own toolkit (`sophia serve`): reused, so
    external MCP servers are connected and connectors opened once per process, and not closed here.
    """
    from sophia.server import open_toolkit

    opened = memory is None and embedder is not None
    if memory is None and embedder is not None:
        chosen = _embedder(embedder) if isinstance(embedder, str) else embedder
        memory = await open_memory(settings, database, embedder=chosen)  # the `[memory]` backends
    owned_kit = None
    if kit is None:
        kit = owned_kit = await open_toolkit(
            settings, database, memory, connect_external=connect_external, errlog=errlog
        )
    runtime = McpRuntime(kit.registry, kit.invoker, context=context, memory=memory, clients=kit.clients)
    runtime.owned_kit = owned_kit
    if opened:
        runtime.owned.append(memory)
    runtime.accounts = AccountService(database)
    if runs:
        runtime.runs = _run_service(settings, database, runtime.invoker)
    return runtime
