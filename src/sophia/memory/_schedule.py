"""The forgetting schedule: `consolidate()` every `[memory].consolidate_every`, once per period for the whole install.

Every long-lived process (`sophia serve`, `sophia worker`) ticks; the one that claims the period in the database
(`memory_clock.consolidated_at`) runs the pass, so five workers sharing PostgreSQL consolidate once, not five times.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from sophia.memory._changes import claim_consolidation
from sophia.memory._maintenance import ConsolidationReport
from sophia.memory._model import now_utc
from sophia.memory._service import MemoryService
from sophia.store import storage_errors

log = logging.getLogger("sophia.memory")
MAX_TICK_SECONDS = 60.0


class ConsolidationSchedule:
    """Runs `service.consolidate()` every `every_seconds` (0 turns it off) from a background task."""

    def __init__(self, service: MemoryService, every_seconds: float) -> None:
        self.service = service
        self.every = timedelta(seconds=every_seconds)
        self.tick_seconds = min(every_seconds, MAX_TICK_SECONDS)
        self.passes = 0
        self._task: asyncio.Task[None] | None = None

    @property
    def enabled(self) -> bool:
        return self.every > timedelta(0)

    async def run_if_due(self) -> ConsolidationReport | None:
        """Claim this period and consolidate; None when another process (or an earlier tick) already did."""
        database = self.service.database
        with storage_errors(database.url):
            async with database.engine.begin() as conn:
                claimed = await claim_consolidation(conn, self.every, now_utc())
        if not claimed:
            return None
        report = await self.service.consolidate()
        self.passes += 1
        log.info(
            "memory consolidated: %d expired purged, %d near-duplicates merged, %d decayed",
            report.expired,
            report.merged,
            report.decayed,
        )
        return report

    def start(self) -> None:
        if self.enabled and self._task is None:
            self._task = asyncio.create_task(self._loop(), name="memory-consolidation")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.tick_seconds)
            try:
                await self.run_if_due()
            except (
                Exception
            ):  # a failed pass (database away) must not end the schedule; the next tick retries
                log.exception("memory consolidation failed; the next period tries again")
