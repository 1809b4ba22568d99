"""`sophia db upgrade|downgrade|current`: move the database schema to the revision this Sophia expects."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer

from sophia.cli._common import cli_database, console, handle_errors, run_async, settings_of
from sophia.config import redact_url
from sophia.store import Database, current_revision, downgrade, head_revision, resolve_database_url, upgrade

T = TypeVar("T")

app = typer.Typer(name="db", help="Database migrations.", no_args_is_help=True)


def database_url(ctx: typer.Context) -> str:
    """The configured database URL, with a secret reference (env:, secret:, file:) resolved."""
    return resolve_database_url(settings_of(ctx))


def with_database(ctx: typer.Context, work: Callable[[Database], Awaitable[T]]) -> T:
    """Run `work` against the configured database, set up (or checked) by `cli_database`."""
    settings = settings_of(ctx)

    async def run() -> T:
        async with cli_database(settings) as database:
            return await work(database)

    return run_async(run())


def _show(revision: str | None) -> str:
    return revision or "none (empty database)"


@app.command("upgrade")
@handle_errors
def upgrade_command(
    ctx: typer.Context,
    revision: Annotated[str, typer.Argument(help="Target revision; default the newest.")] = "head",
) -> None:
    """Apply migrations up to REVISION (default: head). Safe to run twice."""
    url = database_url(ctx)

    async def work() -> tuple[str | None, str | None]:
        before = await current_revision(url)
        await upgrade(url, revision)
        return before, await current_revision(url)

    before, after = run_async(work())
    shown = redact_url(url)
    if before == after:
        console.print(f"{shown} is already at {_show(after)}", highlight=False)
    else:
        console.print(f"upgraded {shown} from {_show(before)} to {_show(after)}", highlight=False)


@app.command("downgrade")
@handle_errors
def downgrade_command(
    ctx: typer.Context,
    revision: Annotated[str, typer.Argument(help="Target revision; 'base' removes every table.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Undo migrations down to REVISION. Tables a migration created are dropped with their data."""
    url = database_url(ctx)
    if not yes:
        question = f"Downgrade {redact_url(url)} to {revision}? Dropped tables lose their data"
        typer.confirm(question, abort=True)

    async def work() -> tuple[str | None, str | None]:
        before = await current_revision(url)
        await downgrade(url, revision)
        return before, await current_revision(url)

    before, after = run_async(work())
    console.print(f"downgraded {redact_url(url)} from {_show(before)} to {_show(after)}", highlight=False)


@app.command("current")
@handle_errors
def current_command(ctx: typer.Context) -> None:
    """Show the database's revision and the newest one this Sophia ships."""
    url = database_url(ctx)
    current, head = run_async(current_revision(url)), head_revision()
    console.print(f"database: {redact_url(url)}", highlight=False)
    console.print(f"current:  {_show(current)}", highlight=False)
    console.print(f"head:     {head}", highlight=False)
    if current == head:
        console.print("up to date")
    else:
        console.print("behind: run `sophia db upgrade`")
