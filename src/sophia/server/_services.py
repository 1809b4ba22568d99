"""The long-lived objects one Sophia process holds, built once at start-up and closed at shutdown."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sophia.accounts import AccountService
from sophia.config import Settings
from sophia.gateway import Gateway, build_gateway
from sophia.memory import MemoryService, open_memory
from sophia.store import Database, is_up_to_date, resolve_database_url, upgrade

if TYPE_CHECKING:
    from sophia.runs import RunService
    from sophia.server._auth import KeyCache

log = logging.getLogger("sophia.server")


async def open_database(settings: Settings, *, migrate: bool) -> Database:
    """Open the configured database; bring it to the newest migration when `migrate`, else require it to be there."""
    url = resolve_database_url(settings)
    database = Database(url, echo=settings.storage.echo)
    try:
        await database.ping()
        if migrate:
            await upgrade(url)
        elif not await is_up_to_date(url):
            from sophia.errors import StorageError

            raise StorageError(
                f"the database at {database.display_url} needs migrations; run `sophia db upgrade`"
            )
    except BaseException:
        await database.close()
        raise
    return database


@dataclass
class Services:
    settings: Settings
    database: Database
    accounts: AccountService
    gateway: Gateway
    memory: MemoryService | None = None
    key_cache: KeyCache = field(init=False)

    def __post_init__(self) -> None:
        from sophia.server._auth import KeyCache

        self.key_cache = KeyCache(self.settings.server.auth_cache_seconds)

    @classmethod
    async def start(cls, settings: Settings) -> Services:
        database = await open_database(settings, migrate=settings.server.upgrade_on_start)
        try:
            gateway = await build_gateway(settings, database)
            try:
                memory = await open_memory(settings, database)
            except BaseException:
                await gateway.aclose()
                raise
        except BaseException:
            await database.close()
            raise
        return cls(
            settings=settings,
            database=database,
            accounts=AccountService(database),
            gateway=gateway,
            memory=memory,
        )

    async def aclose(self) -> None:
        if self.memory is not None:
            await self.memory.close()
        await self.gateway.aclose()
        await self.database.close()


@asynccontextmanager
async def hosted_run_worker(services: Services) -> AsyncIterator[RunService]:
    """A run worker in this process (so runs progress under plain `sophia serve`) and the `RunService` beside it.

    Both share one tool invoker; the worker stops, and its runs stay queued for the next one, on exit.
    """
    from sophia.agents import OutcomeMemory  # imported late: DBOS and the agents are heavy to import
    from sophia.runs import (
        RunRuntime,
        RunService,
        RunWorker,
        default_agents,
        default_team,
        load_sealing_key,
        system_database_url,
    )
    from sophia.tools import ArgumentSealer, ToolInvoker, ToolRegistry, register_builtin_tools

    settings = services.settings
    registry = register_builtin_tools(ToolRegistry(), memory=services.memory)
    invoker = ToolInvoker(registry, services.database, sealer=ArgumentSealer(load_sealing_key(settings.home)))
    agents = default_agents(registry)
    outcomes: Any = OutcomeMemory(services.memory) if services.memory is not None else None
    runtime = RunRuntime(
        services.database, services.gateway, invoker, agents, team=default_team(agents), outcomes=outcomes
    )
    system_url = system_database_url(settings)
    worker = RunWorker(runtime, system_database_url=system_url)
    service = RunService(services.database, invoker, system_database_url=system_url)
    await worker.start()
    try:
        yield service
    finally:
        await worker.stop()
        await service.aclose()
