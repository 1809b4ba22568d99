"""`sophia ask` and `sophia models list|stats`: the gateway from the terminal, in process."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import typer
from rich.table import Table

from sophia.cli._common import cli_database, console, handle_errors, run_async, settings_of
from sophia.config import TASKS, Settings
from sophia.errors import InvalidInput
from sophia.gateway import Caller, Estimate, Gateway, build_catalog, build_gateway
from sophia.observability import configure_logging

app = typer.Typer(name="models", help="Models in the catalog and their live health.", no_args_is_help=True)


@asynccontextmanager
async def _gateway(settings: Settings) -> AsyncIterator[Gateway]:
    async with cli_database(settings) as database:
        gateway = await build_gateway(settings, database)
        try:
            yield gateway
        finally:
            await gateway.aclose()


async def _ask(
    settings: Settings, prompt: str, model: str, system: str | None, max_tokens: int | None
) -> None:
    messages = ([{"role": "system", "content": system}] if system else []) + [
        {"role": "user", "content": prompt}
    ]
    body: dict[str, object] = {"model": model, "messages": messages, "stream": True}
    if max_tokens:
        body["max_tokens"] = max_tokens
    async with _gateway(settings) as gateway:
        import secrets

        entry, chunks = await gateway.open_stream(body, Caller(), "cli_" + secrets.token_hex(6))
        usage: dict[str, int] = {}
        async for chunk in chunks:
            for choice in chunk.get("choices") or ():
                text = (choice.get("delta") or {}).get("content")
                if text:
                    sys.stdout.write(text)
                    sys.stdout.flush()
            usage = chunk.get("usage") or usage
        sys.stdout.write("\n")
        input_tokens = int(usage.get("prompt_tokens") or 0)
        output_tokens = int(usage.get("completion_tokens") or 0)
        cost = entry.cost(input_tokens, output_tokens)
        console.print(
            f"[dim]model {entry.name} ({entry.provider}) · {input_tokens} in / {output_tokens} out · "
            f"${cost:.6f}[/]",
            highlight=False,
        )


@handle_errors
def ask(
    ctx: typer.Context,
    prompt: Annotated[str, typer.Argument(help="What to ask; '-' reads standard input.")],
    task: Annotated[str | None, typer.Option(help=f"Route by task: {', '.join(TASKS)}, or auto.")] = None,
    model: Annotated[str | None, typer.Option(help="A model name from `sophia models list`.")] = None,
    system: Annotated[str | None, typer.Option(help="A system prompt.")] = None,
    max_tokens: Annotated[int | None, typer.Option(help="Upper bound on the answer's length.")] = None,
) -> None:
    """Ask a model through the gateway; the answer streams, then model, tokens and cost."""
    settings = settings_of(ctx)
    configure_logging("WARNING", settings.logging.format)
    if task and model:
        raise InvalidInput("give --task or --model, not both")
    if task and task != "auto" and task not in TASKS:
        raise InvalidInput(f"--task must be one of {', '.join(TASKS)} or auto")
    chosen = model or (f"sophia/{task}" if task and task != "auto" else "auto")
    text = sys.stdin.read() if prompt == "-" else prompt
    run_async(_ask(settings, text, chosen, system, max_tokens))


@app.command("list")
@handle_errors
def list_models(ctx: typer.Context) -> None:
    """Models in the catalog: provider, upstream name, capabilities and prices per 1M tokens."""
    catalog = build_catalog(settings_of(ctx))
    table = Table("name", "provider", "upstream", "capabilities", "in $/1M", "out $/1M", "context")
    for entry in catalog:
        caps = [c for c in ("tools", "vision", "json_mode", "reasoning") if getattr(entry, c)]
        table.add_row(
            entry.name,
            entry.provider,
            entry.upstream,
            ", ".join(caps) or "-",
            f"{entry.input_price:g}",
            f"{entry.output_price:g}",
            str(entry.context_window),
        )
    console.print(table)


async def _stats(settings: Settings) -> tuple[list[dict[str, object]], list[Estimate]]:
    async with _gateway(settings) as gateway:
        book, catalog = gateway.router.quality, gateway.catalog
        estimates = [
            book.estimate(task, model, entry.quality if (entry := catalog.get(model)) is not None else 0.5)
            for task, model in book.known()
        ]
        return [row.to_dict() for row in gateway.health.all()], estimates


def _print_estimates(estimates: list[Estimate]) -> None:
    table = Table("task", "model", "prior", "estimate", "evidence", title="Quality learned from outcomes")
    for e in estimates:
        table.add_row(e.task, e.model, f"{e.prior:.2f}", f"{e.mean:.3f}", str(e.evidence))
    console.print(table if estimates else "no outcomes recorded yet (feedback, run outcomes)")


@app.command("stats")
@handle_errors
def stats(ctx: typer.Context) -> None:
    """Live health per deployment (latency, TTFT, error rate, cost) and the quality learned per task and model."""
    rows, estimates = run_async(_stats(settings_of(ctx)))
    table = Table("deployment", "requests", "failures", "error rate", "latency ms", "TTFT ms", "avg cost $")
    for row in sorted(rows, key=lambda r: str(r["deployment"])):
        table.add_row(
            str(row["deployment"]),
            str(row["requests"]),
            str(row["failures"]),
            f"{float(row['error_rate']):.2%}",  # type: ignore[arg-type]
            _num(row["latency_ms"]),
            _num(row["ttft_ms"]),
            _num(row["cost_usd"], 6),
        )
    console.print(table if rows else "no requests recorded yet")
    _print_estimates(estimates)


def _num(value: object, digits: int = 1) -> str:
    return "-" if value is None else f"{float(value):.{digits}f}"  # type: ignore[arg-type]


@app.command("sync")
@handle_errors
def sync(
    ctx: typer.Context,
    provider: Annotated[str, typer.Argument(help="A provider's name from sophia.toml ([[providers]] name).")],
) -> None:
    """Refresh a provider's catalog from its models endpoint (OpenRouter's and Hugging Face's carry prices).

    The models land in SOPHIA_HOME/catalogs/PROVIDER.json, which every catalog reads: built-in entries take the
    new prices and context windows, other models become usable by name as PROVIDER/ID.
    """
    from sophia.gateway import sync_models

    settings = settings_of(ctx)
    path, models = run_async(sync_models(settings, provider))
    priced = sum(1 for m in models if m.input_price is not None)
    console.print(f"{len(models)} model(s) from {provider} ({priced} with prices) written to {path}")
