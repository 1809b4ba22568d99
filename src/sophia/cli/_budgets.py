"""`sophia budgets set|list|clear`: daily and monthly USD limits for a user, an API key, or everyone."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from rich.table import Table

from sophia.accounts import AccountService
from sophia.cli._common import console, echo_json, handle_errors
from sophia.cli._db import with_database
from sophia.gateway import BudgetBook, BudgetGuard, BudgetUse, Period, Scope

T = TypeVar("T")

app = typer.Typer(name="budgets", help="Set, list and clear spending limits (USD).", no_args_is_help=True)

ScopeArgument = Annotated[Scope, typer.Argument(help="global, user or key.", case_sensitive=False)]
WhoArgument = Annotated[
    str | None,
    typer.Argument(help="The user's name (scope user) or the key's prefix sph_xxxxxxxx (scope key)."),
]


def _with_book(ctx: typer.Context, work: Callable[[BudgetBook], Awaitable[T]]) -> T:
    return with_database(
        ctx, lambda database: work(BudgetBook(BudgetGuard(database), AccountService(database)))
    )


def _print_table(uses: list[BudgetUse]) -> None:
    table = Table("scope", "who", "period", "limit", "spent", "used")
    for use in uses:
        table.add_row(
            use.scope.value, use.who, use.period.value, f"${use.limit_usd:,.2f}", f"${use.spent_usd:,.4f}",
            f"{use.percent:.0f}%",
        )  # fmt: skip
    console.print(table)


@app.command("set")
@handle_errors
def set_budget(
    ctx: typer.Context,
    scope: ScopeArgument,
    who: WhoArgument = None,
    daily: Annotated[float | None, typer.Option("--daily", min=0, help="Daily limit in USD.")] = None,
    monthly: Annotated[float | None, typer.Option("--monthly", min=0, help="Monthly limit in USD.")] = None,
) -> None:
    """Set a daily and/or monthly limit; requests over it get 429 with Retry-After until the period ends."""
    uses = _with_book(ctx, lambda book: book.set(scope, who, daily_usd=daily, monthly_usd=monthly))
    _print_table(uses)


@app.command("list")
@handle_errors
def list_budgets(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Every limit with what has been spent in its current period."""
    uses = _with_book(ctx, lambda book: book.uses())
    if as_json:
        echo_json([use.to_dict() for use in uses])
    elif not uses:
        console.print("no budgets; set one with `sophia budgets set global --monthly 100`")
    else:
        _print_table(uses)


@app.command("clear")
@handle_errors
def clear_budget(
    ctx: typer.Context,
    scope: ScopeArgument,
    who: WhoArgument = None,
    period: Annotated[
        Period | None, typer.Option("--period", help="Only this period (daily or monthly); default both.")
    ] = None,
) -> None:
    """Remove limits; spending is not limited by them from the next refresh on."""
    removed = _with_book(ctx, lambda book: book.clear(scope, who, period))
    target = scope.value if who is None else f"{scope.value} {who}"
    console.print(f"removed {removed} limit(s) of {target}", highlight=False)
