"""Budgets in USD per API key, per user and global, daily and monthly, checked before any provider is called."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa

from sophia.errors import InvalidInput, SophiaError
from sophia.gateway._tables import BudgetRow, UsageRequestRow
from sophia.store import Database, utcnow

GLOBAL_ID = "*"


class Period(StrEnum):
    DAILY = "daily"
    MONTHLY = "monthly"


class Scope(StrEnum):
    GLOBAL = "global"
    USER = "user"
    KEY = "key"


class BudgetExceeded(SophiaError):
    code = "budget_exceeded"
    http_status = 429

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Caller:
    """Who a request is charged to. `key_budget_usd` is the API key's own monthly limit, if it has one."""

    user_id: str | None = None
    api_key_id: str | None = None
    key_budget_usd: float | None = None


@dataclass(frozen=True, slots=True)
class BudgetLimit:
    scope: Scope
    scope_id: str
    period: Period
    limit_usd: float


def period_start(period: Period, now: datetime) -> datetime:
    if period is Period.DAILY:
        return now.replace(hour=0, minute=0, second=0, microsecond=0)
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _seconds_to_period_end(period: Period, now: datetime) -> float:
    start = period_start(period, now)
    if period is Period.DAILY:
        end = start + timedelta(days=1)
    elif start.month == 12:
        end = start.replace(year=start.year + 1, month=1)
    else:
        end = start.replace(month=start.month + 1)
    return max(1.0, (end - now).total_seconds())


class BudgetGuard:
    """Keeps spend per (scope, period) in memory, seeded from the ledger and re-read every `refresh` seconds.

    Re-reading keeps replicas that share one database close to each other's spend.
    """

    def __init__(self, database: Database, *, refresh: float = 10.0) -> None:
        self._database = database
        self._refresh = refresh
        self._limits: dict[tuple[Scope, str], list[BudgetLimit]] = {}
        self._limits_loaded_at = 0.0
        self._spent: dict[tuple[Scope, str, Period, datetime], tuple[float, float]] = {}

    async def set_limit(self, scope: Scope, scope_id: str | None, period: Period, limit_usd: float) -> None:
        if limit_usd < 0:
            raise InvalidInput("limit_usd: a budget cannot be negative")
        sid = GLOBAL_ID if scope is Scope.GLOBAL else (scope_id or "")
        if not sid:
            raise InvalidInput(f"scope_id: a {scope.value} budget needs the {scope.value}'s id")
        async with self._database.session() as session, session.begin():
            existing = await session.scalar(
                sa.select(BudgetRow).where(
                    BudgetRow.scope == scope.value,
                    BudgetRow.scope_id == sid,
                    BudgetRow.period == period.value,
                )
            )
            if existing is None:
                session.add(
                    BudgetRow(
                        scope=scope.value,
                        scope_id=sid,
                        period=period.value,
                        limit_usd=limit_usd,
                        created_at=utcnow(),
                    )
                )
            else:
                existing.limit_usd = limit_usd
        self._limits_loaded_at = 0.0

    async def clear_limit(self, scope: Scope, scope_id: str | None, period: Period | None = None) -> int:
        """Remove the limits of one scope (one period, or both); returns how many were removed."""
        sid = GLOBAL_ID if scope is Scope.GLOBAL else (scope_id or "")
        query = sa.delete(BudgetRow).where(BudgetRow.scope == scope.value, BudgetRow.scope_id == sid)
        if period is not None:
            query = query.where(BudgetRow.period == period.value)
        async with self._database.session() as session, session.begin():
            result = await session.execute(query)
            removed = getattr(result, "rowcount", 0)
        self._limits_loaded_at = 0.0
        return int(removed or 0)

    async def list_limits(self) -> list[BudgetLimit]:
        await self._load_limits()
        return [limit for group in self._limits.values() for limit in group]

    async def check(self, caller: Caller) -> None:
        """Raise BudgetExceeded when any budget that applies to the caller is used up."""
        now = datetime.now(UTC)
        for limit in await self._applicable(caller):
            spent = await self._spent_in(limit.scope, limit.scope_id, limit.period, now)
            if spent >= limit.limit_usd:
                raise BudgetExceeded(
                    f"the {limit.period.value} budget of ${limit.limit_usd:.2f} for {self._describe(limit)} is used "
                    f"up (${spent:.4f} spent); raise it or wait for the next period",
                    retry_after=_seconds_to_period_end(limit.period, now),
                )

    def charge(self, user_id: str | None, api_key_id: str | None, cost_usd: float) -> None:
        """Add a finished request's cost to every counter that is tracked in memory."""
        if cost_usd <= 0:
            return
        ids = {Scope.GLOBAL: GLOBAL_ID, Scope.USER: user_id, Scope.KEY: api_key_id}
        for key, (spent, loaded_at) in list(self._spent.items()):
            scope, scope_id = key[0], key[1]
            if ids.get(scope) == scope_id:
                self._spent[key] = (spent + cost_usd, loaded_at)

    async def spent(self, scope: Scope, scope_id: str, period: Period) -> float:
        return await self._spent_in(scope, scope_id, period, datetime.now(UTC))

    @staticmethod
    def _describe(limit: BudgetLimit) -> str:
        return "everyone" if limit.scope is Scope.GLOBAL else f"{limit.scope.value} {limit.scope_id}"

    async def _applicable(self, caller: Caller) -> list[BudgetLimit]:
        await self._load_limits()
        limits = list(self._limits.get((Scope.GLOBAL, GLOBAL_ID), ()))
        if caller.user_id:
            limits += self._limits.get((Scope.USER, caller.user_id), ())
        if caller.api_key_id:
            limits += self._limits.get((Scope.KEY, caller.api_key_id), ())
            if caller.key_budget_usd is not None:
                limits.append(
                    BudgetLimit(Scope.KEY, caller.api_key_id, Period.MONTHLY, caller.key_budget_usd)
                )
        return limits

    async def _load_limits(self) -> None:
        if time.monotonic() - self._limits_loaded_at < self._refresh:
            return
        async with self._database.session() as session:
            rows = (await session.execute(sa.select(BudgetRow))).scalars().all()
        limits: dict[tuple[Scope, str], list[BudgetLimit]] = {}
        for row in rows:
            limit = BudgetLimit(Scope(row.scope), row.scope_id, Period(row.period), float(row.limit_usd))
            limits.setdefault((limit.scope, limit.scope_id), []).append(limit)
        self._limits = limits
        self._limits_loaded_at = time.monotonic()

    async def _spent_in(self, scope: Scope, scope_id: str, period: Period, now: datetime) -> float:
        start = period_start(period, now)
        key = (scope, scope_id, period, start)
        cached = self._spent.get(key)
        if cached is not None and time.monotonic() - cached[1] < self._refresh:
            return cached[0]
        query = sa.select(sa.func.coalesce(sa.func.sum(UsageRequestRow.cost_usd), 0.0)).where(
            UsageRequestRow.at >= start
        )
        if scope is Scope.USER:
            query = query.where(UsageRequestRow.user_id == scope_id)
        elif scope is Scope.KEY:
            query = query.where(UsageRequestRow.api_key_id == scope_id)
        async with self._database.session() as session:
            total = float(await session.scalar(query) or 0.0)
        self._spent[key] = (total, time.monotonic())
        return total
