"""Budgets in USD per API key, per user and global, daily and monthly, checked before any provider is called."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa

from sophia.errors import InvalidInput, SophiaError
from sophia.gateway._spend import MemorySpend, SpendKey, SpendStore
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
    """Limits from the database (re-read every `refresh` seconds); spend in a `SpendStore` seeded from the ledger.

    A request is admitted with a cost estimate reserved against every budget that applies (`admit`) and settled
    with its real cost when it ends (`charge`), so concurrent requests cannot all slip under the same limit. With
    `spend = RedisSpend(...)` every replica shares the counters; with the default `MemorySpend` replicas that share
    only a database follow each other's spend within `refresh` seconds.
    """

    def __init__(self, database: Database, *, refresh: float = 10.0, spend: SpendStore | None = None) -> None:
        self._database = database
        self._refresh = refresh
        self._limits: dict[tuple[Scope, str], list[BudgetLimit]] = {}
        self._limits_loaded_at = 0.0
        self.spend = spend or MemorySpend(refresh)
        self._admitted: dict[str, list[SpendKey]] = {}
        self._replica = secrets.token_hex(6)
        self._admissions = 0

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

    async def admit(self, caller: Caller, estimate_usd: Callable[[], float]) -> str | None:
        """Reserve the request's estimated cost on every budget that applies, or raise BudgetExceeded.

        Returns the reservation to pass to `charge` (None when no budget applies)."""
        limits = await self._applicable(caller)
        if not limits:
            return None
        self._admissions += 1
        request_id = f"{self._replica}-{self._admissions}"
        now = datetime.now(UTC)
        keys = [self._spend_key(limit, now) for limit in limits]
        used_up = await self.spend.admit(request_id, keys, max(0.0, estimate_usd()), self._ledger_spend)
        if used_up >= 0:
            limit = limits[used_up]
            spent = await self.spend.spent(keys[used_up], self._ledger_spend)
            raise BudgetExceeded(
                f"the {limit.period.value} budget of ${limit.limit_usd:.2f} for {self._describe(limit)} is used "
                f"up (${spent:.4f} spent, with requests in flight); raise it or wait for the next period",
                retry_after=_seconds_to_period_end(limit.period, now),
            )
        self._admitted[request_id] = keys
        return request_id

    async def check(self, caller: Caller) -> None:
        """Raise BudgetExceeded when a budget that applies is used up; reserves nothing."""
        self.charge(await self.admit(caller, lambda: 0.0), 0.0)

    def charge(self, admission: str | None, cost_usd: float) -> None:
        """A finished request's real cost replaces its reservation."""
        keys = self._admitted.pop(admission, None) if admission else None
        if admission is None or not keys:
            return
        self.spend.settle(admission, keys, max(0.0, cost_usd))

    async def aclose(self) -> None:
        await self.spend.aclose()

    async def spent(self, scope: Scope, scope_id: str, period: Period) -> float:
        key = self._spend_key(BudgetLimit(scope, scope_id, period, 0.0), datetime.now(UTC))
        return await self.spend.spent(key, self._ledger_spend)

    def _spend_key(self, limit: BudgetLimit, now: datetime) -> SpendKey:
        start = period_start(limit.period, now)
        name = f"{limit.scope.value}:{limit.scope_id}:{limit.period.value}:{start:%Y%m%d}"
        ttl = _seconds_to_period_end(limit.period, now) + 86_400
        return SpendKey(name, limit.limit_usd, ttl, origin=(limit.scope, limit.scope_id, start))

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

    async def _ledger_spend(self, key: SpendKey) -> float:
        scope, scope_id, start = key.origin
        query = sa.select(sa.func.coalesce(sa.func.sum(UsageRequestRow.cost_usd), 0.0)).where(
            UsageRequestRow.at >= start
        )
        if scope is Scope.USER:
            query = query.where(UsageRequestRow.user_id == scope_id)
        elif scope is Scope.KEY:
            query = query.where(UsageRequestRow.api_key_id == scope_id)
        async with self._database.session() as session:
            return float(await session.scalar(query) or 0.0)
