"""`sophia connectors list|actions|check|call|events`: the configured external services and their actions.

`call` goes through the same invoker as agents and MCP, so the approval policy and the audit log apply; a held
call prints its approval id (`sophia approvals approve ID` runs it). The terminal acts as the first admin.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from sophia.cli._common import cli_database, console, echo_json, fail, handle_errors, run_async, settings_of
from sophia.cli._runs import local_admin, open_parts
from sophia.config import Settings
from sophia.connectors import Connectors, ConnectorState, connector_kind_names
from sophia.tools import ApprovalRequired, ToolContext, ToolFailed

__all__ = ["app"]

app = typer.Typer(
    name="connectors", help="External services: list, check, call their actions.", no_args_is_help=True
)


async def _listing(settings: Settings) -> dict[str, Any]:
    connectors = Connectors.open(settings)
    try:
        async with cli_database(settings) as database:
            checks = await ConnectorState(database).checks()
        rows = []
        for name in connectors.names():
            info = connectors.info(name).to_record()
            check = checks.get(name)
            info["last_check"] = (
                None
                if check is None
                else {"ok": check.ok, "message": check.message, "at": check.checked_at.isoformat()}
            )
            rows.append(info)
        disabled = sorted(n for n, s in settings.connectors.items() if not s.enabled)
        return {"configured": rows, "disabled": disabled, "kinds": connector_kind_names()}
    finally:
        await connectors.aclose()


@app.command("list")
@handle_errors
def list_connectors(
    ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False
) -> None:
    """Configured connectors with their actions, missing credentials, last check and rate-limit state."""
    listing = run_async(_listing(settings_of(ctx)))
    if as_json:
        echo_json(listing)
        return
    if not listing["configured"]:
        console.print("no connectors configured; add a [connectors.NAME] table to sophia.toml")
    else:
        table = Table("name", "kind", "group", "actions", "credentials", "last check")
        for row in listing["configured"]:
            missing = ", ".join(row["missing_credentials"])
            check = row["last_check"]
            status = (
                "never" if check is None else ("ok" if check["ok"] else f"failed: {check['message'][:50]}")
            )
            table.add_row(
                row["name"],
                row["kind"],
                row["group"],
                str(len(row["actions"])),
                f"missing {missing}" if missing else "set",
                status,
            )
        console.print(table)
    console.print(f"kinds: {', '.join(listing['kinds'])}", highlight=False)


@app.command("actions")
@handle_errors
def list_actions(
    ctx: typer.Context,
    name: str,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """A connector's actions with their side effect (read, write, destroy)."""

    async def go() -> list[dict[str, str]]:
        connectors = Connectors.open(settings_of(ctx))
        try:
            return connectors.info(name).actions
        finally:
            await connectors.aclose()

    actions = run_async(go())
    if as_json:
        echo_json(actions)
        return
    table = Table("action", "effect")
    for item in actions:
        table.add_row(item["name"], item["effect"])
    console.print(table)


@app.command("check")
@handle_errors
def check(ctx: typer.Context, name: str) -> None:
    """Prove the credentials work with one cheap read; the result is kept for `list` and the dashboard."""
    settings = settings_of(ctx)

    async def go() -> tuple[bool, str]:
        connectors = Connectors.open(settings)
        try:
            result = await connectors.check(name)
        finally:
            await connectors.aclose()
        async with cli_database(settings) as database:
            await ConnectorState(database).record_check(name, result.ok, result.message)
        return result.ok, result.message

    ok, message = run_async(go())
    console.print(f"{name}: {'ok' if ok else 'failed'} — {message}", highlight=False)
    if not ok:
        raise typer.Exit(1)


def _arguments(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        fail(f"--args is not valid JSON ({error.msg} at character {error.pos})")
    if not isinstance(value, dict):
        fail('--args must be a JSON object, e.g. \'{"owner": "acme"}\'')
    return value


@app.command("call")
@handle_errors
def call(
    ctx: typer.Context,
    name: str,
    action_name: Annotated[str, typer.Argument(metavar="ACTION")],
    args: Annotated[str, typer.Option("--args", help="The action's arguments as a JSON object.")] = "{}",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the request a write would send; send nothing.")
    ] = False,
) -> None:
    """Call one action through the approval policy; a held call prints its approval id."""
    arguments = _arguments(args)
    if dry_run:
        arguments["dry_run"] = True
    tool = f"{name}.{action_name}"

    async def go() -> Any:
        async with open_parts(settings_of(ctx)) as parts:
            if tool not in parts.invoker.registry:
                Connectors.open(settings_of(ctx)).get(
                    name
                )  # names the missing connector, if that is the cause
            admin = await local_admin(parts.database)
            result = await parts.invoker.invoke(tool, arguments, ToolContext.of(admin))
            return result.output

    try:
        output = run_async(go())
    except ApprovalRequired as held:
        console.print(
            f"{tool} needs approval: `sophia approvals approve {held.approval.id}` runs it", highlight=False
        )
        raise typer.Exit(3) from None
    except ToolFailed as failure:
        fail(failure.message, code=1)
    echo_json(output)


@app.command("events")
@handle_errors
def events(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="Only this connector's events.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Inbound webhook events accepted, newest first, with the run each one started."""

    async def go() -> list[dict[str, Any]]:
        async with cli_database(settings_of(ctx)) as database:
            found = await ConnectorState(database).events(name, limit)
        return [
            {
                "id": e.id,
                "connector": e.connector,
                "type": e.type,
                "summary": e.summary,
                "run_id": e.run_id,
                "received_at": e.received_at.isoformat(),
            }
            for e in found
        ]

    rows = run_async(go())
    if as_json:
        echo_json(rows)
        return
    table = Table("id", "connector", "type", "summary", "run", "received")
    for row in rows:
        table.add_row(
            str(row["id"]),
            row["connector"],
            row["type"],
            row["summary"][:60],
            row["run_id"] or "",
            row["received_at"][:19],
        )
    console.print(table)
