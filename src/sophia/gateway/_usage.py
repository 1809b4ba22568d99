"""Usage reports read from the ledger: totals by day, model, user and key over a time range; recent and failed rows.

The one implementation behind the dashboard's usage page, `GET /v1/usage` and `sophia usage`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from sophia.errors import InvalidInput
from sophia.gateway._tables import UsageRequestRow
from sophia.store import Database, utcnow

USAGE_MAX_DAYS = 366
_GROUP_ROWS = 20


@dataclass(frozen=True, slots=True)
class UsageFilter:
    """Rows with `since <= at < until` (until: now when None), for one user and/or one key when given (ids)."""

    since: datetime
    until: datetime | None = None
    user_id: str | None = None
    api_key_id: str | None = None

    @classmethod
    def last_days(
        cls, days: int, *, user_id: str | None = None, api_key_id: str | None = None
    ) -> UsageFilter:
        if not 1 <= days <= USAGE_MAX_DAYS:
            raise InvalidInput(f"days: must be between 1 and {USAGE_MAX_DAYS}, not {days}")
        return cls(since=utcnow() - timedelta(days=days), user_id=user_id, api_key_id=api_key_id)

    @classmethod
    def between(
        cls,
        since: datetime | None,
        until: datetime | None,
        days: int,
        *,
        user_id: str | None = None,
        api_key_id: str | None = None,
    ) -> UsageFilter:
        """From `since` to `until` (default now); the `days` days before `until` (default now) without `since`.

        Naive times are UTC.
        """
        try:
            return cls._between(since, until, days, user_id, api_key_id)
        except OverflowError:  # year 1 at +14:00, or `days` before year 1
            raise InvalidInput(
                "since/until: the report's range falls outside the years 1 to 9999 in UTC"
            ) from None

    @classmethod
    def _between(
        cls,
        since: datetime | None,
        until: datetime | None,
        days: int,
        user_id: str | None,
        api_key_id: str | None,
    ) -> UsageFilter:
        if since is None and until is None:
            return cls.last_days(days, user_id=user_id, api_key_id=api_key_id)
        if since is None:  # the `days` days before `until`
            assert until is not None
            if not 1 <= days <= USAGE_MAX_DAYS:
                raise InvalidInput(f"days: must be between 1 and {USAGE_MAX_DAYS}, not {days}")
            since = _utc(until) - timedelta(days=days)
        start, end = _utc(since), _utc(until) if until is not None else None
        if end is not None and end <= start:
            raise InvalidInput("until: must be after since")
        if ((end or utcnow()) - start).days > USAGE_MAX_DAYS:
            raise InvalidInput(f"since: a report covers at most {USAGE_MAX_DAYS} days")
        return cls(since=start, until=end, user_id=user_id, api_key_id=api_key_id)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Totals:
    """Sums for one group; `id` is what the ledger stores (a day, model name, user id or key id), `label` its name."""

    label: str
    requests: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    id: str | None = None

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "requests": self.requests,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": round(self.cost_usd, 10),
        }


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One request as the ledger recorded it."""

    id: str
    at: datetime
    user_id: str | None
    api_key_id: str | None
    requested_model: str
    model: str | None
    input_tokens: int
    output_tokens: int
    cost_usd: float
    fallbacks: int
    status: str
    error_code: str | None


@dataclass(frozen=True, slots=True)
class Labels:
    """Names to show for the ids the ledger stores."""

    users: dict[str, str] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CacheTotals:
    """Requests the response cache answered, and what their first answers had cost (what the hits saved)."""

    hits: int = 0
    requests: int = 0
    saved_usd: float = 0.0

    @property
    def hit_rate(self) -> float:
        return self.hits / self.requests if self.requests else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "hits": self.hits,
            "requests": self.requests,
            "hit_rate": round(self.hit_rate, 6),
            "saved_usd": round(self.saved_usd, 10),
        }


@dataclass(slots=True)
class UsageReport:
    since: datetime
    until: datetime
    total: Totals
    cache: CacheTotals = field(default_factory=CacheTotals)
    by_day: list[Totals] = field(default_factory=list)
    by_model: list[Totals] = field(default_factory=list)
    by_user: list[Totals] = field(default_factory=list)
    by_key: list[Totals] = field(default_factory=list)
    recent: list[LedgerEntry] = field(default_factory=list)
    problems: list[LedgerEntry] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON data: what `GET /v1/usage` answers and `sophia usage --json` prints."""
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "total": self.total.to_dict(),
            "cache": self.cache.to_dict(),
            "by_day": [t.to_dict() for t in self.by_day],
            "by_model": [t.to_dict() for t in self.by_model],
            "by_user": [t.to_dict() for t in self.by_user],
            "by_key": [t.to_dict() for t in self.by_key],
        }


_SUMS = (
    sa.func.count(),
    sa.func.coalesce(sa.func.sum(UsageRequestRow.input_tokens), 0),
    sa.func.coalesce(sa.func.sum(UsageRequestRow.output_tokens), 0),
    sa.func.coalesce(sa.func.sum(UsageRequestRow.cost_usd), 0.0),
)


def _totals(label: str, row: Any, id: str | None = None) -> Totals:
    return Totals(label, int(row[0]), int(row[1]), int(row[2]), float(row[3]), id)


def _entry(row: UsageRequestRow) -> LedgerEntry:
    return LedgerEntry(
        row.id, row.at, row.user_id, row.api_key_id, row.requested_model, row.model, row.input_tokens,
        row.output_tokens, float(row.cost_usd), row.fallbacks, row.status, row.error_code,
    )  # fmt: skip


class UsageReports:
    """Ledger queries; every one filters on the time range first (the ledger's `at` index)."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def report(
        self, query: UsageFilter, labels: Labels | None = None, *, rows: int = 50
    ) -> UsageReport:
        labels = labels or Labels()
        until = query.until or utcnow()
        where = [UsageRequestRow.at >= query.since, UsageRequestRow.at < until]
        if query.user_id is not None:
            where.append(UsageRequestRow.user_id == query.user_id)
        if query.api_key_id is not None:
            where.append(UsageRequestRow.api_key_id == query.api_key_id)
        async with self._db.session() as session:
            total = _totals("total", (await session.execute(sa.select(*_SUMS).where(*where))).one())
            report = UsageReport(since=query.since, until=until, total=total)
            report.cache = await _cache_totals(session, where)
            report.by_day = await _by_day(session, where, query.since, until)
            report.by_model = await _grouped(session, UsageRequestRow.model, where, {})
            report.by_user = await _grouped(session, UsageRequestRow.user_id, where, labels.users)
            report.by_key = await _grouped(session, UsageRequestRow.api_key_id, where, labels.keys)
            if rows > 0:
                newest = sa.select(UsageRequestRow).order_by(UsageRequestRow.at.desc()).limit(rows)
                report.recent = [_entry(r) for r in (await session.scalars(newest.where(*where))).all()]
                troubled = sa.or_(UsageRequestRow.status != "ok", UsageRequestRow.fallbacks > 0)
                found = await session.scalars(newest.where(*where, troubled))
                report.problems = [_entry(r) for r in found.all()]
        return report


async def _cache_totals(session: Any, where: list[Any]) -> CacheTotals:
    """Over chat requests (embeddings are never cached): hits, all requests, money saved."""
    hit = sa.case((UsageRequestRow.cache_hit.is_(True), 1), else_=0)
    query = sa.select(
        sa.func.coalesce(sa.func.sum(hit), 0),
        sa.func.count(),
        sa.func.coalesce(sa.func.sum(UsageRequestRow.saved_usd), 0.0),
    ).where(*where, UsageRequestRow.endpoint == "chat")
    row = (await session.execute(query)).one()
    return CacheTotals(int(row[0]), int(row[1]), float(row[2]))


async def _grouped(session: Any, column: Any, where: list[Any], names: dict[str, str]) -> list[Totals]:
    query = (
        sa.select(column, *_SUMS)
        .where(*where)
        .group_by(column)
        .order_by(sa.desc(_SUMS[3]))
        .limit(_GROUP_ROWS)
    )
    out = []
    for row in (await session.execute(query)).all():
        id = str(row[0]) if row[0] is not None else None
        out.append(_totals(names.get(id, id) if id is not None else "—", row[1:], id))
    return out


async def _by_day(session: Any, where: list[Any], since: datetime, until: datetime) -> list[Totals]:
    """One row per UTC day of the range, days with no requests included (as zeros)."""
    day = sa.func.date(UsageRequestRow.at)
    rows = (await session.execute(sa.select(day, *_SUMS).where(*where).group_by(day))).all()
    found = {str(r[0])[:10]: r[1:] for r in rows}
    start: date = since.date()
    last: date = (until - timedelta(microseconds=1)).date()
    out = []
    for offset in range((last - start).days + 1):
        label = (start + timedelta(days=offset)).isoformat()
        out.append(_totals(label, found.get(label, (0, 0, 0, 0.0)), label))
    return out


__all__ = [
    "USAGE_MAX_DAYS",
    "CacheTotals",
    "Labels",
    "LedgerEntry",
    "Totals",
    "UsageFilter",
    "UsageReport",
    "UsageReports",
]
