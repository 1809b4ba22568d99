"""The long-lived objects one Sophia process holds, built once at start-up and closed at shutdown."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sophia.accounts import AccountService
from sophia.config import Settings
from sophia.gateway import Gateway, build_gateway
from sophia.memory import MemoryService, open_memory
from sophia.store import Database, is_up_to_date, resolve_database_url, upgrade

if TYPE_CHECKING:
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
