"""One sync of a configured connector, as the CLI, the HTTP route and the schedule all start it."""

from __future__ import annotations

from typing import Any

from sophia.business import BusinessStore
from sophia.config import Settings
from sophia.connectors._connectors import Connectors
from sophia.connectors._sync._engine import NotSyncable, Progress, SyncEngine, SyncReport
from sophia.connectors._sync._protocol import Syncable
from sophia.connectors._sync._status import SyncStatus
from sophia.memory import MemoryService
from sophia.store import Database

__all__ = ["run_sync", "sync_overview", "syncable_names"]


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


async def sync_overview(
    settings: Settings, connectors: Connectors, database: Database, name: str | None = None
) -> list[dict[str, Any]]:
    """Every syncable connector (or just `name`) with its schedule and its streams' state; a stream never synced
    shows `last_run_at: None`."""
    wanted = [c for c in connectors if isinstance(c, Syncable) and (name is None or c.name == name)]
    rows = await SyncStatus(database).streams(name)
    by_key = {(r.connector, r.stream): r.to_record() for r in rows}
    return [
        {
            "connector": c.name,
            "every_seconds": settings.connectors[c.name].sync_every,
            "streams": [
                by_key.get((c.name, s)) or {"stream": s, "last_run_at": None} for s in c.sync_streams()
            ],
        }
        for c in wanted
    ]
