"""Ledger usage reports and the budget book, on SQLite and PostgreSQL, from rows the real ledger wrote."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sophia.accounts import AccountService, Role
from sophia.errors import InvalidInput, NotFound
from sophia.gateway import (
    BudgetBook,
    BudgetExceeded,
    BudgetGuard,
    Caller,
    Labels,
    Period,
    RequestRecord,
    Scope,
    UsageFilter,
    UsageLedger,
    UsageReports,
)
from sophia.store import Database, utcnow


def _record(
    n: int, at: datetime, user: str, key: str, model: str, cost: float, status: str = "ok"
) -> RequestRecord:
    return RequestRecord(
        id=f"req-{n}", endpoint="chat", requested_model=model, api_key_id=key, user_id=user, stream=False,
        model=model, provider="p", input_tokens=100, output_tokens=10, cost_usd=cost, status=status, at=at,
    )  # fmt: skip


async def _write(database: Database, records: list[RequestRecord]) -> None:
    ledger = UsageLedger(database)
    for record in records:
        ledger.record(record)
    assert await ledger.flush(health=False) == len(records)


async def test_report_groups_by_day_model_user_and_key_within_the_range(database: Database) -> None:
    now = utcnow()
    two_days_ago = now - timedelta(days=2)
    await _write(
        database,
        [
            _record(1, now - timedelta(minutes=5), "1", "10", "fast", 0.5),
            _record(2, now - timedelta(minutes=4), "1", "11", "smart", 1.5),
            _record(3, two_days_ago, "2", "20", "fast", 0.25, status="error"),
            _record(4, now - timedelta(days=40), "2", "20", "fast", 9.0),  # outside every range below
        ],
    )
    labels = Labels(users={"1": "alice", "2": "bob"}, keys={"10": "laptop (sph_aaaaaaaa)"})
    report = await UsageReports(database).report(UsageFilter.last_days(7), labels)
    assert (report.total.requests, report.total.input_tokens, report.total.output_tokens) == (3, 300, 30)
    assert report.total.cost_usd == pytest.approx(2.25)
    assert [(t.label, t.requests) for t in report.by_model] == [
        ("smart", 1),
        ("fast", 2),
    ]  # by cost, highest first
    assert {t.label: t.cost_usd for t in report.by_user} == pytest.approx({"alice": 2.0, "bob": 0.25})
    assert {t.id: t.label for t in report.by_key} == {"11": "11", "10": "laptop (sph_aaaaaaaa)", "20": "20"}
    assert len(report.by_day) == 8  # seven days back and today, empty days included
    by_day = {t.label: t.requests for t in report.by_day}
    assert by_day[now.date().isoformat()] == 2 and by_day[two_days_ago.date().isoformat()] == 1
    assert sum(by_day.values()) == 3
    assert [e.id for e in report.problems] == ["req-3"] and [e.id for e in report.recent] == [
        "req-2",
        "req-1",
        "req-3",
    ]

    mine = await UsageReports(database).report(UsageFilter.last_days(7, user_id="2"), labels)
    assert mine.total.requests == 1 and [t.label for t in mine.by_user] == ["bob"]
    one_key = await UsageReports(database).report(UsageFilter.last_days(366, api_key_id="20"))
    assert one_key.total.requests == 2 and one_key.total.cost_usd == pytest.approx(9.25)


async def test_an_explicit_range_keeps_to_its_ends(database: Database) -> None:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    await _write(
        database,
        [
            _record(i, start + timedelta(hours=12 * i), "1", "10", "fast", 1.0) for i in range(6)
        ],  # Mar 1 .. Mar 3
    )
    query = UsageFilter.between(datetime(2026, 3, 1, 12), datetime(2026, 3, 3), 30)  # naive means UTC
    report = await UsageReports(database).report(query, rows=0)
    assert report.total.requests == 3  # 12:00 and 00:00, 12:00 of the next day; the end is exclusive
    assert [(t.label, t.requests) for t in report.by_day] == [("2026-03-01", 1), ("2026-03-02", 2)]
    assert report.recent == [] and report.problems == []
    days_before = UsageFilter.between(None, datetime(2026, 3, 2, 12), 1)
    assert days_before.since == datetime(2026, 3, 1, 12, tzinfo=UTC)
    assert (await UsageReports(database).report(days_before)).total.requests == 2


@pytest.mark.parametrize(
    ("since", "until", "days", "message"),
    [
        (None, datetime(2026, 1, 2), 400, "days: must be between 1 and 366"),
        (datetime(2026, 1, 2), datetime(2026, 1, 1), 30, "until: must be after since"),
        (datetime(2020, 1, 1), datetime(2026, 1, 1), 30, "at most 366 days"),
        (None, None, 0, "days: must be between 1 and 366"),
    ],
)
def test_a_bad_range_is_a_clear_error(
    since: datetime | None, until: datetime | None, days: int, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        UsageFilter.between(since, until, days)


async def test_budget_book_names_targets_and_reports_spend(database: Database) -> None:
    accounts = AccountService(database)
    alice = await accounts.create_user("alice", Role.MEMBER)
    key, _ = await accounts.create_api_key(alice.id, "laptop")
    guard = BudgetGuard(database, refresh=0)
    book = BudgetBook(guard, accounts)
    await _write(database, [_record(1, utcnow(), str(alice.id), str(key.id), "fast", 0.75)])

    set_user = await book.set(Scope.USER, "alice", daily_usd=0.5, monthly_usd=20)
    assert [(u.who, u.period, u.limit_usd, u.spent_usd) for u in set_user] == [
        ("alice", Period.DAILY, 0.5, pytest.approx(0.75)),
        ("alice", Period.MONTHLY, 20.0, pytest.approx(0.75)),
    ]
    await book.set(Scope.KEY, f"sph_{key.prefix}", daily_usd=3)
    await book.set(Scope.GLOBAL, None, monthly_usd=100)
    assert [(u.scope, u.who) for u in await book.uses()] == [
        (Scope.GLOBAL, "everyone"),
        (Scope.USER, "alice"),
        (Scope.USER, "alice"),
        (Scope.KEY, f"laptop (sph_{key.prefix})"),
    ]
    with pytest.raises(BudgetExceeded, match="daily budget of \\$0.50 for user") as caught:
        await guard.check(Caller(user_id=str(alice.id), api_key_id=str(key.id)))
    assert caught.value.retry_after > 0

    assert await book.clear(Scope.USER, "alice", Period.DAILY) == 1
    await guard.check(Caller(user_id=str(alice.id), api_key_id=str(key.id)))  # the monthly 20 is not used up
    assert await book.clear(Scope.USER, "alice") == 1
    await accounts.create_user("bob", Role.MEMBER)
    await book.set(Scope.USER, "bob", daily_usd=1)
    assert {u.who for u in await book.uses(user_id=alice.id)} == {"everyone", f"laptop (sph_{key.prefix})"}

    with pytest.raises(NotFound):
        await book.set(Scope.USER, "nobody", daily_usd=1)
    with pytest.raises(InvalidInput, match="a daily or a monthly limit"):
        await book.set(Scope.USER, "alice")
    with pytest.raises(InvalidInput, match="needs a user name"):
        await book.set(Scope.USER, None, daily_usd=1)
    with pytest.raises(InvalidInput, match="cannot be negative"):
        await book.set(Scope.GLOBAL, None, daily_usd=-1)
