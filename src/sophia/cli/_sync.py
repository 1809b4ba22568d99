"""`sophia sync NAME [--full] [--stream S]` and `sophia sync status`: pull a connector's records into memory and
the business tables, resumably (a killed sync continues from its last committed page)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from sophia.cli._common import cli_database, console, echo_json, handle_errors, run_async, settings_of
from sophia.cli._memory import EmbedderChoice
from sophia.config import Settings
from sophia.connectors import Connectors, StreamResult, Syncable, SyncReport, SyncStatus, run_sync
from sophia.memory import HashingEmbedder, default_embedder, open_memory

__all__ = ["sync_command"]


async def _sync(
    settings: Settings, name: str, full: bool, streams: list[str] | None, embedder: EmbedderChoice
) -> SyncReport:
    chosen = HashingEmbedder(dimensions=384) if embedder is EmbedderChoice.HASHING else default_embedder()

    def progress(result: StreamResult) -> None:
        console.print(
            f"{name}/{result.stream}: page {result.pages} — {result.written} written, {result.updated} updated,"
            f" {result.unchanged} unchanged",
            highlight=False,
        )

    async with cli_database(settings) as database:
        memory = await open_memory(settings, database, embedder=chosen)
        try:
            return await run_sync(
                settings, database, memory, name, full=full, streams=streams, progress=progress
            )
        finally:
            await memory.close()


async def sync_status(settings: Settings) -> list[dict[str, Any]]:
    """Every syncable connector with its streams' state (a never-synced stream shows as such)."""
    connectors = Connectors.open(settings)
    try:
        names = {c.name: list(c.sync_streams()) for c in connectors if isinstance(c, Syncable)}
    finally:
        await connectors.aclose()
    async with cli_database(settings) as database:
        rows = await SyncStatus(database).streams()
    by_key = {(r.connector, r.stream): r.to_record() for r in rows}
    return [
        {
            "connector": name,
            "every_seconds": settings.connectors[name].sync_every,
            "streams": [by_key.get((name, s)) or {"stream": s, "last_run_at": None} for s in streams],
        }
        for name, streams in names.items()
    ]


def _print_status(listing: list[dict[str, Any]]) -> None:
    if not listing:
        console.print("no syncable connectors configured (hubspot, salesforce, gong, linear, intercom, …)")
        return
    table = Table("connector", "stream", "last run", "cursor age", "written/updated/deleted", "last error")
    for item in listing:
        for s in item["streams"]:
            age = s.get("cursor_age_seconds")
            counts = f"{s.get('written', 0)}/{s.get('updated', 0)}/{s.get('deleted', 0)}"
            error = s.get("last_error") or ""
            run = s.get("last_run_at") or "never"
            if s.get("in_progress"):
                run += " (resumes)"
            table.add_row(
                item["connector"], s["stream"], run, "-" if age is None else f"{age:.0f}s", counts, error[:60]
            )
    console.print(table)


@handle_errors
def sync_command(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(metavar="NAME|status", help="A syncable connector, or `status`.")],
    full: Annotated[
        bool, typer.Option("--full", help="Re-read everything (still writes no duplicate).")
    ] = False,
    stream: Annotated[
        list[str] | None, typer.Option("--stream", help="Only this stream (repeatable).")
    ] = None,
    embedder: Annotated[
        EmbedderChoice, typer.Option(help="auto: MiniLM when installed; hashing: fast, keyword-grade")
    ] = EmbedderChoice.AUTO,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Sync a connector's records into memory (namespace connector:NAME) and the business tables."""
    settings = settings_of(ctx)
    if target == "status":
        listing = run_async(sync_status(settings))
        echo_json(listing) if as_json else _print_status(listing)
        return
    report = run_async(_sync(settings, target, full, stream or None, embedder))
    if as_json:
        echo_json(
            {"connector": report.connector, "ok": report.ok, "streams": [vars(s) for s in report.streams]}
        )
    else:
        totals = report.totals()
        console.print(
            f"{target}: {totals['written']} written, {totals['updated']} updated, {totals['deleted']} deleted,"
            f" {totals['unchanged']} unchanged in {totals['pages']} pages",
            highlight=False,
        )
        for result in report.streams:
            if result.error:
                console.print(f"[red]{target}/{result.stream} failed:[/] {result.error}", highlight=False)
    if not report.ok:
        raise typer.Exit(1)
