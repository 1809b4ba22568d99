"""`sophia usage`: requests, tokens and cost from the ledger, by day, model, user and key."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table

from sophia.accounts import AccountService
from sophia.cli._common import console, echo_json, handle_errors
from sophia.cli._db import with_database
from sophia.gateway import USAGE_MAX_DAYS, Totals, UsageFilter, UsageReport, UsageReports, account_labels
from sophia.store import Database


async def _report(
    database: Database,
    since: datetime | None,
    until: datetime | None,
    days: int,
    user: str | None,
    key: str | None,
) -> UsageReport:
    accounts = AccountService(database)
    user_id = str((await accounts.get_user(user)).id) if user else None
    key_id = str((await accounts.get_api_key(key)).id) if key else None
    query = UsageFilter.between(since, until, days, user_id=user_id, api_key_id=key_id)
    return await UsageReports(database).report(query, await account_labels(accounts), rows=0)


def _table(title: str, first: str, rows: list[Totals]) -> Table:
    table = Table(
        first, "requests", "input tokens", "output tokens", "cost", title=title, title_justify="left"
    )
    for row in rows:
        table.add_row(
            row.label,
            f"{row.requests:,}",
            f"{row.input_tokens:,}",
            f"{row.output_tokens:,}",
            f"${row.cost_usd:,.4f}",
        )
    return table


@handle_errors
def usage_command(
    ctx: typer.Context,
    days: Annotated[int, typer.Option("--days", min=1, max=USAGE_MAX_DAYS, help="The last N days.")] = 30,
    since: Annotated[datetime | None, typer.Option("--since", help="Start (UTC), instead of --days.")] = None,
    until: Annotated[
        datetime | None, typer.Option("--until", help="End (UTC, exclusive); default now.")
    ] = None,
    user: Annotated[str | None, typer.Option("--user", help="Only this user's requests.")] = None,
    key: Annotated[
        str | None, typer.Option("--key", help="Only this API key's (prefix sph_xxxxxxxx).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (the shape of GET /v1/usage).")] = False,
) -> None:
    """Usage and cost from the ledger, for everyone or one user or key."""
    report = with_database(ctx, lambda database: _report(database, since, until, days, user, key))
    if as_json:
        echo_json(report.to_dict())
        return
    total = report.total
    console.print(
        f"{report.since:%Y-%m-%d %H:%M} – {report.until:%Y-%m-%d %H:%M} UTC: {total.requests:,} requests, "
        f"{total.input_tokens:,} input and {total.output_tokens:,} output tokens, ${total.cost_usd:,.4f}",
        highlight=False,
    )
    cache = report.cache
    console.print(
        f"response cache: {cache.hits:,} of {cache.requests:,} chat requests answered ({cache.hit_rate:.1%}), "
        f"${cache.saved_usd:,.4f} saved",
        highlight=False,
    )
    console.print(_table("By day", "day", [day for day in report.by_day if day.requests]))
    console.print(_table("By model", "model", report.by_model))
    console.print(_table("By user", "user", report.by_user))
    console.print(_table("By API key", "key", report.by_key))
