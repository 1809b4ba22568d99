"""One sync of a configured connector, as the CLI, the HTTP route and the schedule all start it."""

from __future__ import annotations

from sophia.business import BusinessStore
from sophia.config import Settings
from sophia.connectors._connectors import Connectors
from sophia.connectors._sync._engine import NotSyncable, Progress, SyncEngine, SyncReport
from sophia.connectors._sync._protocol import Syncable
from sophia.memory import MemoryService
from sophia.store import Database

__all__ = ["run_sync", "syncable_names"]


def syncable_names(connectors: Connectors) -> list[str]:
    return [c.name for c in connectors if isinstance(c, Syncable)]


async def run_sync(
    settings: Settings,
    database: Database,
    memory: MemoryService,
    name: str,
    *,
    full: bool = False,
    streams: list[str] | None = None,
    progress: Progress | None = None,
    connectors: Connectors | None = None,
) -> SyncReport:
    """Sync connector `name` (built from `[connectors.NAME]`, or taken from `connectors`)."""
    owned = connectors is None
    opened = Connectors.open(settings) if connectors is None else connectors
    try:
        connector = opened.get(name)
        if not isinstance(connector, Syncable):
            raise NotSyncable(
                f"connector {name} ({connector.kind}) has no records to sync; syncable: "
                f"{', '.join(syncable_names(opened)) or 'none configured'}"
            )
        engine = SyncEngine(database, memory, BusinessStore(database))
        return await engine.run(name, connector, full=full, streams=streams, progress=progress)
    finally:
        if owned:
            await opened.aclose()
