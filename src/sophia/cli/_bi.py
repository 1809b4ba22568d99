"""`sophia bi ...`: business intelligence over the synced business tables."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sophia.cli._common import cli_database, echo_json, handle_errors, run_async, settings_of

if TYPE_CHECKING:
    from sophia.bi import BiService

__all__ = ["app"]

app = typer.Typer(
    name="bi", help="Business intelligence over the synced business tables.", no_args_is_help=True
)


def _ms(value: float) -> str:
    return f"{value / 1000:.1f}s"


@app.command("coach")
@handle_errors
def coach_command(
    ctx: typer.Context,
    rep: Annotated[str | None, typer.Option("--rep", help="A rep's name or id; else every rep.")] = None,
    source: Annotated[str | None, typer.Option("--source", help="Only calls of this connector.")] = None,
    advice: Annotated[
        bool,
        typer.Option("--advice", help="Also the model's advice, each citing a call moment (needs --rep)."),
    ] = False,
    model: Annotated[str, typer.Option("--model", help="A model or task name for the advice.")] = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="The report as JSON.")] = False,
) -> None:
    """Conversation metrics per rep (talk ratio, longest monologue, questions, ...) against the team."""
    if advice and rep is None:
        raise typer.BadParameter("advice is per rep: give --rep NAME", param_hint="--advice")
    reports = run_async(_coach(settings_of(ctx), rep, source, model if advice else None))
    if as_json:
        echo_json(reports if rep is None else reports[0])
        return
    for report in reports:
        r, diff = report["rep"], report["versus_team"]
        typer.echo(
            f"{r['name'] or r['rep_id']}: {r['calls']} calls, talk ratio {r['talk_ratio']:.2f} "
            f"({diff['talk_ratio']:+.2f} vs team), questions/call {r['questions_per_call']:.1f} "
            f"({diff['questions_per_call']:+.1f}), longest monologue {_ms(r['mean_longest_monologue_ms'])} "
            f"({diff['mean_longest_monologue_ms'] / 1000:+.1f}s), interactivity {r['interactivity']:.1f}/min"
        )
        for item in (report.get("advice") or {}).get("items", []):
            typer.echo(f'  - {item["text"]} [{item["call_id"]} {item["at"]}: "{item["quote"]["text"]}"]')
        if report.get("advice") is not None and not report["advice"]["items"]:
            typer.echo("  (no advice passed the check: " + "; ".join(report["advice"]["dropped"][:3]) + ")")


async def _coach(
    settings: Any, rep: str | None, source: str | None, model: str | None
) -> list[dict[str, Any]]:
    async with _service(settings, with_gateway=model is not None) as service:
        return await service.coach(rep, source=source, advice_model=model)


train_app = typer.Typer(name="train", help="Train a BI model from the business tables.", no_args_is_help=True)
app.add_typer(train_app)

AsOf = Annotated[
    str | None,
    typer.Option(
        "--as-of", help="ISO date the signals are read at (default: 90 days ago for train, now for health)."
    ),
]


def _as_of(value: str | None, default_days_back: int) -> datetime:
    from sophia.bi import parse_as_of
    from sophia.errors import InvalidInput

    try:
        return parse_as_of(value, default_days_back)
    except InvalidInput as error:
        raise typer.BadParameter(error.message, param_hint="--as-of") from error


@train_app.command("churn")
@handle_errors
def train_churn_command(
    ctx: typer.Context,
    as_of: AsOf = None,
    source: Annotated[str | None, typer.Option("--source", help="Only records of this connector.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The saved model as JSON.")] = False,
) -> None:
    """Train the churn model (signals at --as-of, churn in the 90 days after) and save it under SOPHIA_HOME."""
    settings = settings_of(ctx)
    from sophia.bi import FEATURES

    model, path = run_async(_train(settings, _as_of(as_of, 90), source))
    if as_json:
        echo_json({**model.__dict__, "path": str(path)})
        return
    m = model.metrics
    single = FEATURES[int(m["single_signal_index"])]
    typer.echo(
        f"churn model saved to {path}: held-out AUC {m['auc']:.3f} (single signal {single}, chosen on the training"
        f" accounts: {m['single_signal_auc']:.3f}), calibrated Brier {m['brier']:.3f} (base rate"
        f" {m['base_rate_brier']:.3f}, single signal {m['single_signal_brier']:.3f}) on"
        f" {int(m['test_accounts'])} newest accounts"
    )


async def _train(settings: Any, as_of: datetime, source: str | None) -> tuple[Any, Path]:
    async with _service(settings) as service:
        return await service.train_churn(as_of, source=source), service.churn_path


@app.command("health")
@handle_errors
def health_command(
    ctx: typer.Context,
    as_of: AsOf = None,
    account: Annotated[str | None, typer.Option("--account", help="One account's id.")] = None,
    top: Annotated[int, typer.Option("--top", help="How many riskiest accounts to list.")] = 20,
    source: Annotated[str | None, typer.Option("--source", help="Only records of this connector.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="As JSON.")] = False,
) -> None:
    """Account health (100 = no churn risk) with each signal's contribution, riskiest first."""
    scored = run_async(_health(settings_of(ctx), _as_of(as_of, 0), source, account))[:top]
    if as_json:
        echo_json(scored)
        return
    for h in scored:
        drivers = ", ".join(h["top_drivers"]) or "none"
        typer.echo(
            f"{h['account_id']}: health {h['score']:.1f}, churn {h['churn_probability']:.0%}, drivers: {drivers}"
        )
        if h["interventions"]:
            typer.echo(f"  -> {h['interventions'][0]['action']}")


async def _health(
    settings: Any, as_of: datetime, source: str | None, account: str | None
) -> list[dict[str, Any]]:
    async with _service(settings) as service:
        return await service.health(as_of, source=source, account=account)


@app.command("forecast")
@handle_errors
def forecast_command(
    ctx: typer.Context,
    horizon: Annotated[int, typer.Option("--horizon", min=1, max=24, help="Months to forecast.")] = 6,
    until: AsOf = None,
    source: Annotated[str | None, typer.Option("--source", help="Only deals of this connector.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="As JSON.")] = False,
) -> None:
    """Weighted open pipeline from learned stage probabilities, and monthly bookings forecast with intervals."""
    result = run_async(_forecast(settings_of(ctx), horizon, _as_of(until, 0), source))
    if as_json:
        echo_json(result)
        return
    for stage in result["stages"].values():
        typer.echo(
            f"{stage['label']}: P(won) {stage['probability']:.2f} ({stage['won']}/{stage['reached']} deals)"
        )
    pipeline = result["pipeline"]
    typer.echo(f"open pipeline: {pipeline['open_deals']} deals, expected {pipeline['expected']:,.0f}")
    bookings = result["bookings"]
    for point in bookings["points"]:
        typer.echo(
            f"{point['month']}: {point['mean']:,.0f} ({bookings['level']:.0%} interval "
            f"{point['lower']:,.0f}-{point['upper']:,.0f})"
        )
    test = result["backtest"]
    typer.echo(f"backtest MAPE {test['mape']:.3f} vs seasonal naive {test['naive_mape']:.3f}")


async def _forecast(settings: Any, horizon: int, until: datetime, source: str | None) -> dict[str, Any]:
    async with _service(settings) as service:
        return await service.forecast(horizon=horizon, until=until, source=source)


@app.command("ask")
@handle_errors
def ask_command(
    ctx: typer.Context,
    question: Annotated[str, typer.Argument(help="A question about the business data.")],
    model: Annotated[str, typer.Option("--model", help="A model or task name for the gateway.")] = "auto",
    source: Annotated[str | None, typer.Option("--source", help="Only records of this connector.")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Answer, SQL, rows, citations and chart as JSON.")
    ] = False,
) -> None:
    """Answer from the business tables: model-written read-only SQL, every number checked against the result."""
    answer = run_async(_ask(settings_of(ctx), question, model, source))
    if as_json:
        echo_json(answer)
        return
    typer.echo(answer["text"])
    if answer["sql"]:
        typer.echo(f"\nSQL: {answer['sql']}")
    for citation in answer["citations"][:20]:
        typer.echo(f"  [{citation['source_id']}] {citation['source_url'] or ''}")


async def _ask(settings: Any, question: str, model: str, source: str | None) -> dict[str, Any]:
    async with _service(settings, with_gateway=True) as service:
        return (await service.ask(question, model=model, source=source)).json()


@asynccontextmanager
async def _service(settings: Any, *, with_gateway: bool = False) -> AsyncIterator[BiService]:
    """The BI service on the configured database (and the gateway, for the commands that call a model)."""
    from sophia.bi import BiService
    from sophia.gateway import build_gateway

    async with cli_database(settings) as database:
        gateway = await build_gateway(settings, database) if with_gateway else None
        try:
            yield BiService(database, settings.home, gateway)
        finally:
            if gateway is not None:
                await gateway.aclose()


def _add_agents() -> None:
    from sophia.cli._bi_agents import recruit_app, strategy_command

    app.add_typer(recruit_app)
    app.command("strategy")(strategy_command)


_add_agents()
