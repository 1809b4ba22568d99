"""The sync schedule: each connector with `[connectors.NAME] sync_every` synced once per period per install.

Every long-lived process (`sophia serve`, `sophia worker`) ticks; the one whose claim on `sync_clock` succeeds runs
the sync, so five workers sharing PostgreSQL sync once a period, not five times (the pattern of memory's
consolidation schedule). The first tick only starts a connector's clock; its first sync comes a period later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from types import TracebackType
from typing import Self

from sophia.config import Settings
from sophia.connectors._connectors import Connectors
from sophia.connectors._sync._engine import SyncReport
from sophia.connectors._sync._protocol import Syncable
from sophia.connectors._sync._run import run_sync
from sophia.connectors._sync._status import SyncStatus
from sophia.memory import MemoryService
from sophia.store import Database

__all__ = ["SyncSchedule", "TickingSchedule"]

log = logging.getLogger("sophia.connectors.sync")
MAX_TICK_SECONDS = 60.0


class TickingSchedule:
    """A background task calling `run_due()` every `tick_seconds` while entered (an async context manager); each
    schedule decides in `run_due` which periods this process claims. Syncs and BI reports both tick this way."""

    name = "schedule"
    tick_seconds = MAX_TICK_SECONDS
    _task: asyncio.Task[None] | None = None

    def active(self) -> bool:
        return True

    async def run_due(self) -> Sequence[object]:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        if self.active() and self._task is None:
            self._task = asyncio.create_task(self._loop(), name=self.name)
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_due()
            except Exception:  # the database away: the next tick retries
                log.exception("the %s could not claim its period; retrying next tick", self.name)
            await asyncio.sleep(self.tick_seconds)


class SyncSchedule(TickingSchedule):
    """Background task syncing every scheduled connector when its period comes round (an async context manager)."""

    name = "connector-sync"

    def __init__(
        self, settings: Settings, database: Database, memory: MemoryService, connectors: Connectors
    ) -> None:
        self.settings, self.database, self.memory, self.connectors = settings, database, memory, connectors
        self.every = {
            c.name: settings.connectors[c.name].sync_every
            for c in connectors
            if isinstance(c, Syncable) and settings.connectors[c.name].sync_every > 0
        }
        self.tick_seconds = min([MAX_TICK_SECONDS, *self.every.values()])
        self.runs: list[SyncReport] = []

    def active(self) -> bool:
        return bool(self.every)

    async def run_due(self) -> list[SyncReport]:
        """Sync each connector whose period this process claims; a failure is logged, never raised."""
        done = []
        for name, every in self.every.items():
            if not await SyncStatus(self.database).claim(name, every):
                continue
            try:
                report = await run_sync(
                    self.settings, self.database, self.memory, name, connectors=self.connectors
                )
            except Exception:  # a broken connector must not end the schedule; the next period tries again
                log.exception("scheduled sync of %s failed", name)
                continue
            totals = report.totals()
            log.info(
                "scheduled sync of %s: %d written, %d updated, %d deleted",
                name,
                totals["written"],
                totals["updated"],
                totals["deleted"],
            )
            done.append(report)
        self.runs.extend(done)
        return done
