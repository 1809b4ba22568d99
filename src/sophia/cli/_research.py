"""`sophia research "question"`: a cited report from the configured sources, with live progress on stderr."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import typer

from sophia.cli._common import cli_database, echo_json, err_console, handle_errors, run_async, settings_of

__all__ = ["research_command"]


@handle_errors
def research_command(
    ctx: typer.Context,
    question: Annotated[str, typer.Argument(help="What to find out.")],
    depth: Annotated[str, typer.Option("--depth", help="quick | standard | deep")] = "standard",
    sources: Annotated[
        str | None, typer.Option("--sources", help="Comma-separated: searxng,arxiv,local,memory,…")
    ] = None,
    mode: Annotated[str, typer.Option("--mode", help="auto | extractive | model")] = "auto",
    as_json: Annotated[
        bool, typer.Option("--json", help="The report as JSON (the shape of /v1/research).")
    ] = False,
) -> None:
    """Research a question across sources; every claim is verified against the passage it cites."""
    if depth not in ("quick", "standard", "deep"):
        raise typer.BadParameter("--depth must be quick, standard or deep")
    if mode not in ("auto", "extractive", "model"):
        raise typer.BadParameter("--mode must be auto, extractive or model")
    names = [s.strip() for s in sources.split(",") if s.strip()] if sources else None
    report = run_async(_research(settings_of(ctx), question, depth, names, mode, quiet=as_json))  # type: ignore[arg-type]
    if as_json:
        echo_json(report)
    else:
        typer.echo(report["markdown"])


async def _research(
    settings: Any,
    question: str,
    depth: Literal["quick", "standard", "deep"],
    sources: list[str] | None,
    mode: Literal["auto", "extractive", "model"],
    *,
    quiet: bool,
) -> dict[str, Any]:
    from sophia.gateway import build_gateway
    from sophia.memory import open_memory
    from sophia.research import ResearchService

    async def progress(kind: str, data: dict[str, Any]) -> None:
        if kind == "plan":
            err_console.print(f"[bold]plan[/] {len(data['sub_questions'])} sub-questions", highlight=False)
        elif kind == "searched":
            err_console.print(f"  searched {data['source']}: {data['results']} results", highlight=False)
        elif kind == "source_error":
            err_console.print(f"  [yellow]{data['source']} failed[/]: {data['error']}", highlight=False)
        elif kind == "read":
            err_console.print(f"  read {data['url']}", highlight=False, soft_wrap=True)
        elif kind == "claims":
            err_console.print(f"  claims kept {data['kept']}, dropped {data['dropped']}", highlight=False)

    async with cli_database(settings) as database:
        gateway = await build_gateway(settings, database)
        try:
            memory = await open_memory(settings, database)
            service = ResearchService(settings, gateway=gateway, memory=memory)
            report = await service.research(
                question, depth=depth, sources=sources, mode=mode, on_event=progress if not quiet else _quiet
            )
        finally:
            await gateway.aclose()
    return report.json()


async def _quiet(kind: str, data: dict[str, Any]) -> None:
    return None
