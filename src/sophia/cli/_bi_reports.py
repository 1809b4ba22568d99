"""`sophia bi report NAME` (run a configured report now) and `sophia bi reports` (each one's last delivery)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from sophia.cli._common import cli_database, echo_json, handle_errors, run_async, settings_of

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    app.command("report")(report_command)
    app.command("reports")(reports_command)


@handle_errors
def report_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A report of [bi.reports.NAME].")],
    deliver: Annotated[
        bool, typer.Option("--deliver/--no-deliver", help="Send it to its destinations, or only keep it.")
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="The stored report as JSON.")] = False,
) -> None:
    """Render a configured report now (text and chart), store it and deliver it."""
    record = run_async(_run(settings_of(ctx), name, deliver))
    if as_json:
        echo_json(record)
        return
    typer.echo(record["text"] or "")
    reached = ", ".join(record["delivered_to"]) or "nowhere"
    typer.echo(f"\nreport {record['id']}: {record['status']}, delivered to {reached}")
    if record["error"]:
        typer.echo(f"error: {record['error']}", err=True)
    if record["status"] == "failed":
        raise typer.Exit(1)


async def _run(settings: Any, name: str, deliver: bool) -> dict[str, Any]:
    from sophia.bi import Reports
    from sophia.connectors import Connectors

    async with cli_database(settings) as database:
        connectors = Connectors.open(settings) if deliver else None
        try:
            return (await Reports(settings, database, connectors).run(name, deliver=deliver)).json()
        finally:
            if connectors is not None:
                await connectors.aclose()


@handle_errors
def reports_command(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="As JSON.")] = False,
) -> None:
    """Each configured report: its kind, schedule, destinations and last delivery."""
    overview = run_async(_overview(settings_of(ctx)))
    if as_json:
        echo_json(overview)
        return
    if not overview:
        typer.echo("no reports configured: add [bi.reports.NAME] to sophia.toml")
    for item in overview:
        last = item["last_delivered"]
        when = f"last delivered {last['delivered_at']} (report {last['id']})" if last else "never delivered"
        typer.echo(
            f"{item['name']}: {item['kind']} every {item['every']} to {', '.join(item['deliver'])}; {when}"
        )


async def _overview(settings: Any) -> list[dict[str, Any]]:
    from sophia.bi import Reports

    async with cli_database(settings) as database:
        return await Reports(settings, database, None).overview()
