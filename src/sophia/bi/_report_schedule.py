"""The report schedule: every long-lived process ticks; the `bi_reports` row claims each period (see _reports)."""

from __future__ import annotations

from sophia.bi._reports import ReportRecord, Reports
from sophia.config import Settings
from sophia.connectors import Connectors, TickingSchedule
from sophia.store import Database

__all__ = ["ReportSchedule"]

MAX_TICK_SECONDS = 60.0


class ReportSchedule(TickingSchedule):
    """Renders and delivers each `[bi.reports.NAME]` once per period, and retries failed deliveries each tick."""

    name = "bi-report-schedule"

    def __init__(self, settings: Settings, database: Database, connectors: Connectors | None) -> None:
        self.reports = Reports(settings, database, connectors)
        self.tick_seconds = min([MAX_TICK_SECONDS, *(r.every_seconds for r in settings.bi.reports.values())])

    def active(self) -> bool:
        return bool(self.reports.settings.bi.reports)

    async def run_due(self) -> list[ReportRecord]:
        return await self.reports.run_due()
