"""One process's tools: built-ins, memory, research, `bi.*`, `[connectors.*]` actions and `[[mcp_servers]]`
tools, behind one invoker.

Every shell (`sophia serve` with its web chat and run worker, `sophia run`/`worker`, `sophia approvals`,
`sophia mcp serve`) builds its tools here, so `[tools]` (policy, limits, workspace roots) and the external MCP
servers reach all of them the same way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from sophia.bi import BiService, register_bi_tools
from sophia.coding import code_tools_for, register_code_tools
from sophia.config import Settings
from sophia.gateway import Gateway
from sophia.memory import MemoryService
from sophia.research import ResearchService, register_research_tools
from sophia.store import Database
from sophia.tools import (
    ArgumentSealer,
    ToolInvoker,
    ToolRegistry,
    WorkspaceRoots,
    register_builtin_tools,
)

if TYPE_CHECKING:
    from sophia.connectors import Connectors
    from sophia.mcp import McpClients

__all__ = ["ToolKit", "open_toolkit"]

log = logging.getLogger("sophia.tools")


@dataclass
class ToolKit:
    registry: ToolRegistry
    invoker: ToolInvoker
    workspaces: WorkspaceRoots
    clients: McpClients | None = None
    connectors: Connectors | None = None

    async def aclose(self) -> None:
        if self.connectors is not None:
            await self.connectors.aclose()
            self.connectors = None
        if self.clients is not None:
            await self.clients.aclose()
            self.clients = None


async def open_toolkit(
    settings: Settings,
    database: Database,
    memory: MemoryService | None,
    *,
    connect_external: bool = True,
    errlog: Any = None,
    connector_transport: httpx.AsyncBaseTransport | None = None,
    gateway: Gateway | None = None,
) -> ToolKit:
    """The registry, the invoker under `[tools]`'s policy (sealing key shared by the install) and workspaces.

    Each enabled connector's actions join the registry (`connector_transport` replaces the network in tests).
    External MCP servers are connected when `connect_external`; one that cannot be reached is logged and left
    out, and the next call to one of its tools reconnects.
    """
    from sophia.runs import load_sealing_key  # DBOS is heavy; only shells that use tools pay for it

    registry = register_builtin_tools(ToolRegistry(), settings.tools, memory=memory)
    register_research_tools(registry, ResearchService(settings, gateway=gateway, memory=memory))
    register_bi_tools(registry, BiService(database, settings.home, gateway))
    if memory is not None:
        from sophia.bi import register_bi_agent_tools  # pandas/duckdb load only when a tool runs

        register_bi_agent_tools(registry, memory, database)
    sealer = ArgumentSealer(load_sealing_key(settings))
    invoker = ToolInvoker(registry, database, settings=settings.tools, sealer=sealer)
    kit = ToolKit(registry, invoker, WorkspaceRoots(settings.home, settings.tools.workspace_roots))
    if settings.connectors:
        from sophia.connectors import ApprovalAnnouncer, Connectors

        kit.connectors = Connectors.open(settings, transport=connector_transport)
        kit.connectors.register_tools(registry)
        announcer = ApprovalAnnouncer(kit.connectors)
        if announcer:
            invoker.notifiers.append(announcer)
    register_code_tools(registry, code_tools_for(settings, connectors=kit.connectors or ()))
    if settings.mcp_servers:
        from sophia.mcp import McpClients  # the MCP SDK takes a second to import; only when configured
        from sophia.secrets import SecretResolver

        resolver = SecretResolver.for_settings(settings)
        kit.clients = McpClients(settings.mcp_servers, resolver.resolve, errlog=errlog)
        if connect_external:
            await kit.clients.register_tools(registry)
    return kit
