"""The long-lived objects one Sophia process holds, built once at start-up and closed at shutdown."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sophia.accounts import AccountService, KeyAdmission, KeyVerifier, RateLimiter
from sophia.config import Settings
from sophia.gateway import EmbedFunction, Gateway, build_gateway
from sophia.secrets import SecretResolver
from sophia.store import CounterStore, Database, open_counters, open_database

if TYPE_CHECKING:
    from sophia.memory import ConsolidationSchedule, MemoryService
    from sophia.runs import RunService
    from sophia.server._toolkit import ToolKit

log = logging.getLogger("sophia.server")


@dataclass
class Services:
    settings: Settings
    database: Database
    accounts: AccountService
    gateway: Gateway
    memory: MemoryService | None = None
    tools: ToolKit | None = None
    forgetting: ConsolidationSchedule | None = None
    keys: KeyVerifier = field(init=False)
    counters: CounterStore = field(init=False)
    limiter: RateLimiter = field(init=False)
    admission: KeyAdmission = field(init=False)

    def __post_init__(self) -> None:
        """The key check and the request counters every shell shares (HTTP API, dashboard, MCP)."""
        settings = self.settings
        self.keys = KeyVerifier(self.accounts.verify_api_key, settings.server.auth_cache_seconds)
        redis_url = SecretResolver.for_settings(settings).setting(settings.web.redis_url)
        self.counters = open_counters(redis_url, settings.web.redis_prefix)
        self.limiter = RateLimiter(self.counters)
        self.admission = KeyAdmission(self.keys, self.limiter)

    @classmethod
    async def start(cls, settings: Settings, *, memory: bool = True) -> Services:
        """`memory=False` (`sophia serve --only gateway`) never imports the memory layer or its embedder."""
        database = await open_database(settings, migrate=settings.server.upgrade_on_start)
        try:
            gateway = await build_gateway(settings, database, embed=_semantic_embedder(settings))
        except BaseException:
            await database.close()
            raise
        if not memory:
            return cls(
                settings=settings, database=database, accounts=AccountService(database), gateway=gateway
            )
        from sophia.memory import ConsolidationSchedule, open_memory  # imported late: numpy, the embedder

        try:
            service = await open_memory(settings, database, gateway=gateway)
        except BaseException:
            await gateway.aclose()
            await database.close()
            raise
        forgetting = ConsolidationSchedule(service, settings.memory.consolidate_every)
        forgetting.start()
        return cls(
            settings=settings,
            database=database,
            accounts=AccountService(database),
            gateway=gateway,
            memory=service,
            forgetting=forgetting,
        )

    async def open_tools(self) -> ToolKit:
        """The process's tools (`open_toolkit`), opened once when the app starts."""
        if self.tools is None:
            from sophia.server._toolkit import open_toolkit

            self.tools = await open_toolkit(self.settings, self.database, self.memory, gateway=self.gateway)
        return self.tools

    def toolkit(self) -> ToolKit:
        if self.tools is None:
            raise RuntimeError("the tools are used before the app started; await services.open_tools() first")
        return self.tools

    async def aclose(self) -> None:
        if self.forgetting is not None:
            await self.forgetting.stop()
        if self.tools is not None:
            await self.tools.aclose()
            self.tools = None
        if self.memory is not None:
            await self.memory.close()
        await self.gateway.aclose()
        await self.counters.aclose()
        await self.database.close()


def _semantic_embedder(settings: Settings) -> EmbedFunction | None:
    """The memory layer's embedder (MiniLM, its weights loaded on first use) when the semantic cache is on."""
    if not (settings.cache.enabled and settings.cache.semantic):
        return None
    from sophia.memory import default_embedder  # imported late: numpy, and the model package when installed

    return default_embedder().embed


@asynccontextmanager
async def hosted_run_worker(services: Services) -> AsyncIterator[RunService]:
    """A run worker in this process (so runs progress under plain `sophia serve`) and the `RunService` beside it.

    Both share one tool invoker; the worker stops, and its runs stay queued for the next one, on exit.
    """
    from sophia.agents import OutcomeMemory  # imported late: DBOS and the agents are heavy to import
    from sophia.runs import (
        RunRuntime,
        RunService,
        RunSettings,
        RunWorker,
        default_agents,
        default_panel,
        default_team,
        system_database_url,
    )

    kit = await services.open_tools()
    agents = default_agents(kit.registry)
    outcomes: Any = OutcomeMemory(services.memory) if services.memory is not None else None
    runtime = RunRuntime(
        services.database,
        services.gateway,
        kit.invoker,
        agents,
        team=default_team(agents),
        panel=default_panel(agents),
        outcomes=outcomes,
        kinds=_plugged_kinds(services, kit),
    )
    system_url = system_database_url(services.settings)
    worker = RunWorker(runtime, system_database_url=system_url, settings=RunSettings.of(services.settings))
    service = RunService(
        services.database, kit.invoker, system_database_url=system_url, workspaces=kit.workspaces
    )
    await worker.start()
    try:
        yield service
    finally:
        await worker.stop()
        await service.aclose()


def _plugged_kinds(services: Any, kit: Any) -> dict[str, Any]:
    """The `code` run kind (the coding orchestrator, on the same gateway, tools and memory as the chat), the
    `research` run kind and the `bi` run kind."""
    from sophia.bi import BiRun, BiService
    from sophia.coding import CodingOrchestrator
    from sophia.research import ResearchService
    from sophia.runs import ResearchRun

    orchestrator = CodingOrchestrator(
        services.gateway, kit.invoker, services.memory, model=services.settings.coding.model
    )
    research = ResearchService(services.settings, gateway=services.gateway, memory=services.memory)
    bi = BiRun(BiService(services.database, services.settings.home, services.gateway))
    return {"code": orchestrator, "research": ResearchRun(research, services.database), "bi": bi}
