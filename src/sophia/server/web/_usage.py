"""The usage page's numbers, read from the gateway's ledger: totals by day, model, user and key; failures; budgets."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from sophia.gateway import BudgetGuard, Scope, UsageRequestRow
from sophia.store import Database, utcnow

__all__ = ["BudgetUse", "Totals", "UsageReport", "UsageService"]

_ROWS = 50


@dataclass(frozen=True, slots=True)
class Totals:
    label: str
    requests: int
    input_tokens: int
    output_tokens: int
    cost_usd: float

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True, slots=True)
class BudgetUse:
    scope: str
    who: str
    period: str
    limit_usd: float
    spent_usd: float

    @property
    def percent(self) -> float:
        return 100.0 if self.limit_usd <= 0 else min(100.0, 100 * self.spent_usd / self.limit_usd)


@dataclass(slots=True)
class UsageReport:
    days: int
    total: Totals
    by_day: list[Totals] = field(default_factory=list)
    by_model: list[Totals] = field(default_factory=list)
    by_user: list[Totals] = field(default_factory=list)
    by_key: list[Totals] = field(default_factory=list)
    recent: list[UsageRequestRow] = field(default_factory=list)
    problems: list[UsageRequestRow] = field(default_factory=list)
    budgets: list[BudgetUse] = field(default_factory=list)


_SUMS = (
    sa.func.count(),
    sa.func.coalesce(sa.func.sum(UsageRequestRow.input_tokens), 0),
    sa.func.coalesce(sa.func.sum(UsageRequestRow.output_tokens), 0),
    sa.func.coalesce(sa.func.sum(UsageRequestRow.cost_usd), 0.0),
)


def _totals(label: str, row: Any) -> Totals:
    return Totals(label, int(row[0]), int(row[1]), int(row[2]), float(row[3]))


class UsageService:
    """Scoped by user for members and viewers (`user_id`), unscoped for admins (`user_id=None`)."""

    def __init__(self, database: Database, budgets: BudgetGuard) -> None:
        self._db = database
        self._budgets = budgets

    async def report(
        self, user_id: int | None, days: int, user_names: dict[str, str], key_names: dict[str, str]
    ) -> UsageReport:
        since = utcnow() - timedelta(days=days)
        where = [UsageRequestRow.at >= since]
        if user_id is not None:
            where.append(UsageRequestRow.user_id == str(user_id))
        async with self._db.session() as session:
            total = _totals("total", (await session.execute(sa.select(*_SUMS).where(*where))).one())
            report = UsageReport(days=days, total=total)
            report.by_day = await self._by_day(session, where, since, days)
            report.by_model = await self._grouped(session, UsageRequestRow.model, where, {})
            report.by_user = await self._grouped(session, UsageRequestRow.user_id, where, user_names)
            report.by_key = await self._grouped(session, UsageRequestRow.api_key_id, where, key_names)
            newest = UsageRequestRow.at.desc()
            report.recent = list(
                (
                    await session.scalars(
                        sa.select(UsageRequestRow).where(*where).order_by(newest).limit(_ROWS)
                    )
                ).all()
            )
            troubled = sa.or_(UsageRequestRow.status != "ok", UsageRequestRow.fallbacks > 0)
            report.problems = list(
                (
                    await session.scalars(
                        sa.select(UsageRequestRow).where(*where, troubled).order_by(newest).limit(_ROWS)
                    )
                ).all()
            )
        return report

    async def budgets(
        self, user_id: int | None, key_ids: set[str], user_names: dict[str, str]
    ) -> list[BudgetUse]:
        """Budget use against limits; a scoped caller sees the global budget and their own user and key budgets."""
        uses = []
        for limit in await self._budgets.list_limits():
            if user_id is not None and not _applies(limit.scope, limit.scope_id, str(user_id), key_ids):
                continue
            spent = await self._budgets.spent(limit.scope, limit.scope_id, limit.period)
            who = {
                "global": "everyone",
                "user": user_names.get(limit.scope_id, f"user {limit.scope_id}"),
            }.get(limit.scope.value, f"key {limit.scope_id}")
            uses.append(BudgetUse(limit.scope.value, who, limit.period.value, limit.limit_usd, spent))
        return uses

    @staticmethod
    async def _grouped(session: Any, column: Any, where: list[Any], names: dict[str, str]) -> list[Totals]:
        query = sa.select(column, *_SUMS).where(*where).group_by(column).order_by(sa.desc(_SUMS[3])).limit(20)
        rows = (await session.execute(query)).all()
        return [_totals(names.get(str(r[0]), str(r[0])) if r[0] is not None else "—", r[1:]) for r in rows]

    @staticmethod
    async def _by_day(session: Any, where: list[Any], since: datetime, days: int) -> list[Totals]:
        day = sa.func.date(UsageRequestRow.at)
        rows = (await session.execute(sa.select(day, *_SUMS).where(*where).group_by(day))).all()
        found = {str(r[0])[:10]: _totals(str(r[0])[:10], r[1:]) for r in rows}
        start: date = since.date()
        out = []
        for offset in range(days + 1):
            label = (start + timedelta(days=offset)).isoformat()
            out.append(found.get(label, Totals(label, 0, 0, 0, 0.0)))
        return out


def _applies(scope: Scope, scope_id: str, user_id: str, key_ids: set[str]) -> bool:
    return (
        scope is Scope.GLOBAL
        or (scope is Scope.USER and scope_id == user_id)
        or (scope is Scope.KEY and scope_id in key_ids)
    )
