"""Scheduled reports: each configured `[bi.reports.NAME]` rendered once per period per install and delivered.

The claim is the `bi_reports` row itself: the process whose insert of (name, period) succeeds renders the report and
stores text, spec and PNG; a failed delivery leaves the row `failed` and the next tick of any process takes it over
with a compare-and-set on (status, claimed_at), delivering the stored PNG to the destinations not yet reached, so a
report is never rendered twice for one period nor sent twice to one destination. A configured schedule is the
admin's standing approval for its deliveries (only who edits sophia.toml can set one); each one leaves an audit row.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from sophia.bi._report_render import RenderedReport, render_report
from sophia.bi._report_rows import BiReportRow
from sophia.business import BusinessStore
from sophia.config import ReportSettings, Settings
from sophia.connectors import Connectors
from sophia.errors import NotFound
from sophia.store import Database, record_audit, utcnow

__all__ = ["MAX_ATTEMPTS", "ReportNotFound", "ReportRecord", "Reports", "period_start"]

log = logging.getLogger("sophia.bi.reports")
LEASE = timedelta(minutes=10)
"""A rendering or delivering claim older than this is taken to be from a process that died."""
MAX_ATTEMPTS = 5
"""Deliveries tried per report row before it is left `failed` for good."""


class ReportNotFound(NotFound):
    """No such report (name not configured, or id not stored)."""


def period_start(report: ReportSettings, now: datetime) -> datetime:
    """The start of the period `now` falls in: the last weekday-and-time passed, or a multiple of `every`."""
    weekly = report.weekly
    if weekly is not None:
        day, hour, minute = weekly
        start = (now - timedelta(days=(now.weekday() - day) % 7)).replace(
            hour=hour, minute=minute, second=0, microsecond=0
        )
        return start - timedelta(days=7) if start > now else start
    every = int(report.every_seconds)
    return datetime.fromtimestamp(int(now.timestamp()) // every * every, UTC)


@dataclass(frozen=True)
class ReportRecord:
    id: int
    name: str
    kind: str
    period: datetime
    trigger: str
    status: str
    text: str | None
    spec: dict[str, Any] | None
    has_png: bool
    deliver: list[str]
    delivered_to: list[str]
    error: str | None
    attempts: int
    created_at: datetime
    delivered_at: datetime | None

    @classmethod
    def of(cls, row: BiReportRow) -> ReportRecord:
        return cls(
            row.id,
            row.name,
            row.kind,
            row.period,
            row.trigger,
            row.status,
            row.text,
            row.spec,
            row.png is not None,
            list(row.deliver),
            list(row.delivered_to),
            row.error,
            row.attempts,
            row.created_at,
            row.delivered_at,
        )

    def json(self, *, full: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "period": self.period.isoformat(),
            "trigger": self.trigger,
            "status": self.status,
            "deliver": self.deliver,
            "delivered_to": self.delivered_to,
            "error": self.error,
            "attempts": self.attempts,
            "created_at": self.created_at.isoformat(),
            "delivered_at": None if self.delivered_at is None else self.delivered_at.isoformat(),
            "png": f"/v1/bi/reports/{self.id}/png" if self.has_png else None,
        }
        if full:
            out |= {"text": self.text, "spec": self.spec}
        return out


class Reports:
    """Runs, schedules and reads the configured reports."""

    def __init__(self, settings: Settings, database: Database, connectors: Connectors | None) -> None:
        self.settings, self.database, self.connectors = settings, database, connectors

    def report(self, name: str) -> ReportSettings:
        found = self.settings.bi.reports.get(name)
        if found is None:
            configured = ", ".join(self.settings.bi.reports) or "none"
            raise ReportNotFound(f'no report "{name[:64]}" in [bi.reports] (configured: {configured})')
        return found

    async def run(self, name: str, *, deliver: bool = True, now: datetime | None = None) -> ReportRecord:
        """Render `name` now (and deliver it unless `deliver` is False), whatever its schedule says."""
        report, moment = self.report(name), now or utcnow()
        row_id = await self._insert(name, report, moment, "manual", deliver, moment)
        assert row_id is not None  # a manual run's period is its own moment
        await self._render(row_id, report, moment)
        return await self._deliver(row_id)

    async def run_due(self, now: datetime | None = None) -> list[ReportRecord]:
        """One tick: each report whose period this process claims is rendered and delivered; failed deliveries
        that no other process holds are retried. A failure is recorded on its row, never raised."""
        moment, done = now or utcnow(), []
        for name, report in self.settings.bi.reports.items():
            row_id = await self._insert(name, report, period_start(report, moment), "schedule", True, moment)
            if row_id is not None:
                await self._render(row_id, report, moment)
                done.append(await self._deliver(row_id))
        for row_id in await self._take_retries(moment, skip={r.id for r in done}):
            row = await self._row(row_id)
            if row.text is None:
                await self._render(row_id, self.report(row.name), moment)
            done.append(await self._deliver(row_id))
        return done

    async def _insert(
        self, name: str, report: ReportSettings, period: datetime, trigger: str, deliver: bool, now: datetime
    ) -> int | None:
        row = BiReportRow(
            name=name,
            kind=report.kind,
            period=period,
            trigger=trigger,
            status="rendering",
            deliver=list(report.deliver) if deliver else [],
            delivered_to=[],
            attempts=0,
            created_at=now,
            claimed_at=now,
        )
        try:
            async with self.database.transaction() as session:
                session.add(row)
                await session.flush()
                return row.id
        except IntegrityError:  # this period is another process's (or this one's, earlier)
            return None

    async def _take_retries(self, now: datetime, skip: set[int]) -> list[int]:
        """Rows to try again (not those this tick already tried), each taken with a compare-and-set so one
        process gets it."""
        stale = now - LEASE
        query = sa.select(BiReportRow.id, BiReportRow.status, BiReportRow.claimed_at).where(
            BiReportRow.name.in_(list(self.settings.bi.reports)),
            BiReportRow.attempts < MAX_ATTEMPTS,
            sa.or_(
                BiReportRow.status == "failed",
                sa.and_(BiReportRow.status.in_(("rendering", "delivering")), BiReportRow.claimed_at <= stale),
            ),
        )
        async with self.database.session() as session:
            candidates = (await session.execute(query)).all()
        taken = []
        for row_id, status, claimed_at in candidates:
            if row_id in skip:
                continue
            async with self.database.transaction() as session:
                result = await session.execute(
                    sa.update(BiReportRow)
                    .where(
                        BiReportRow.id == row_id,
                        BiReportRow.status == status,
                        BiReportRow.claimed_at == claimed_at,
                    )
                    .values(status="delivering", claimed_at=now)
                )
            if int(getattr(result, "rowcount", 0) or 0) == 1:
                taken.append(row_id)
        return taken

    async def _row(self, row_id: int) -> BiReportRow:
        async with self.database.session() as session:
            row = await session.get(BiReportRow, row_id)
        if row is None:
            raise ReportNotFound(f"no stored report {row_id}")
        return row

    async def _update(self, row_id: int, **values: Any) -> None:
        async with self.database.transaction() as session:
            await session.execute(sa.update(BiReportRow).where(BiReportRow.id == row_id).values(**values))

    async def _render(self, row_id: int, report: ReportSettings, now: datetime) -> None:
        try:
            rendered: RenderedReport = await render_report(
                BusinessStore(self.database), report, home=self.settings.home, now=now
            )
        except Exception as error:  # no data, no churn model, …: kept on the row, tried again next tick
            log.warning("report %s (row %d) could not be rendered: %s", report.kind, row_id, error)
            await self._update(
                row_id, status="failed", error=f"render: {_said(error)}", attempts=BiReportRow.attempts + 1
            )
            return
        await self._update(
            row_id, status="delivering", text=rendered.text, spec=rendered.spec, png=rendered.png, error=None
        )

    async def _deliver(self, row_id: int) -> ReportRecord:
        from sophia.bi._report_deliver import deliver_to

        row = await self._row(row_id)
        if row.text is None or row.png is None:
            return ReportRecord.of(row)
        reached, errors = list(row.delivered_to), []
        for destination in row.deliver:
            if destination in reached:
                continue
            try:
                await deliver_to(self.connectors, destination, row.name, row.text, row.png)
            except Exception as error:  # one destination down must not stop the others
                log.warning(
                    "report %s (row %d) not delivered to %s: %s", row.name, row_id, destination, error
                )
                errors.append(f"{destination}: {_said(error)}")
                continue
            reached.append(destination)
            async with self.database.transaction() as session:
                await session.execute(
                    sa.update(BiReportRow).where(BiReportRow.id == row_id).values(delivered_to=list(reached))
                )
                record_audit(
                    session, "bi.report.delivered", f"{row.name}#{row_id}", detail={"to": destination}
                )
        done = {"delivered_to": reached}
        if errors:
            await self._update(
                row_id, **done, status="failed", error="; ".join(errors), attempts=BiReportRow.attempts + 1
            )
        else:
            status = "delivered" if row.deliver else "kept"
            await self._update(row_id, **done, status=status, error=None, delivered_at=utcnow())
        return ReportRecord.of(await self._row(row_id))

    async def stored(self, name: str | None = None, limit: int = 50) -> list[ReportRecord]:
        query = (
            sa.select(BiReportRow).order_by(BiReportRow.created_at.desc(), BiReportRow.id.desc()).limit(limit)
        )
        if name is not None:
            query = query.where(BiReportRow.name == name)
        async with self.database.session() as session:
            return [ReportRecord.of(r) for r in (await session.scalars(query)).all()]

    async def get(self, row_id: int) -> ReportRecord:
        return ReportRecord.of(await self._row(row_id))

    async def png(self, row_id: int) -> bytes:
        row = await self._row(row_id)
        if row.png is None:
            raise ReportNotFound(f"report {row_id} has no chart (status {row.status})")
        return row.png

    async def overview(self) -> list[dict[str, Any]]:
        """Each configured report with its schedule and its last delivered row."""
        out = []
        for name, report in self.settings.bi.reports.items():
            query = (
                sa.select(BiReportRow)
                .where(BiReportRow.name == name, BiReportRow.status == "delivered")
                .order_by(BiReportRow.delivered_at.desc())
                .limit(1)
            )
            async with self.database.session() as session:
                last = (await session.scalars(query)).first()
            out.append(
                {
                    "name": name,
                    "kind": report.kind,
                    "every": report.every,
                    "deliver": list(report.deliver),
                    "last_delivered": None if last is None else ReportRecord.of(last).json(full=False),
                }
            )
        return out


def _said(error: Exception) -> str:
    return (getattr(error, "message", None) or str(error) or type(error).__name__)[:300]
