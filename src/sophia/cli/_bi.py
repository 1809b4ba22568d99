"""`sophia bi ...`: business intelligence over the synced business tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from sophia.cli._common import cli_database, echo_json, handle_errors, run_async, settings_of

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
    as_json: Annotated[bool, typer.Option("--json", help="The report as JSON.")] = False,
) -> None:
    """Conversation metrics per rep (talk ratio, longest monologue, questions, ...) against the team."""
    reports = run_async(_coach(settings_of(ctx), rep, source))
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


async def _coach(settings: Any, rep: str | None, source: str | None) -> list[dict[str, Any]]:
    from sophia.bi import load_coach
    from sophia.business import BusinessStore

    async with cli_database(settings) as database:
        team = await load_coach(BusinessStore(database), source=source)
    if rep is None:
        return [team.report(r) for r in team.reps.values()]
    found = team.rep(rep)
    if found is None:
        known = ", ".join(r.name or str(r.rep_id) for r in team.reps.values()) or "none"
        raise typer.BadParameter(f"no rep {rep!r} has calls; reps with calls: {known}", param_hint="--rep")
    return [team.report(found)]


train_app = typer.Typer(name="train", help="Train a BI model from the business tables.", no_args_is_help=True)
app.add_typer(train_app)

AsOf = Annotated[
    str | None,
    typer.Option(
        "--as-of", help="ISO date the signals are read at (default: 90 days ago for train, now for health)."
    ),
]


def _as_of(value: str | None, default_days_back: int) -> datetime:
    if value is None:
        return datetime.now(UTC) - timedelta(days=default_days_back)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        raise typer.BadParameter(f"not an ISO date: {value!r}", param_hint="--as-of") from error
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


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
    model, path = run_async(_train(settings, _as_of(as_of, 90), source))
    if as_json:
        echo_json({**model.__dict__, "path": str(path)})
        return
    m = model.metrics
    typer.echo(
        f"churn model saved to {path}: held-out AUC {m['auc']:.3f} (best single signal {m['single_signal_auc']:.3f}),"
        f" Brier {m['brier']:.3f} (base rate {m['base_rate_brier']:.3f}) on {int(m['test_accounts'])} newest accounts"
    )


async def _train(settings: Any, as_of: datetime, source: str | None) -> tuple[Any, Path]:
    from sophia.bi import churn_model_path, load_churn_frames, train_churn
    from sophia.business import BusinessStore

    async with cli_database(settings) as database:
        frames = await load_churn_frames(BusinessStore(database), source=source)
    model = train_churn(frames, as_of)
    path = churn_model_path(settings.home)
    model.save(path)
    return model, path


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
    scored = run_async(_health(settings_of(ctx), _as_of(as_of, 0), source))
    if account is not None:
        scored = [h for h in scored if h["account_id"] == account]
        if not scored:
            raise typer.BadParameter(f"no live account {account!r}", param_hint="--account")
    scored = scored[:top]
    if as_json:
        echo_json(scored)
        return
    for h in scored:
        drivers = ", ".join(h["top_drivers"]) or "none"
        typer.echo(
            f"{h['account_id']}: health {h['score']:.1f}, churn {h['churn_probability']:.0%}, drivers: {drivers}"
        )


async def _health(settings: Any, as_of: datetime, source: str | None) -> list[dict[str, Any]]:
    from sophia.bi import ChurnModel, account_health, churn_model_path
    from sophia.business import BusinessStore

    model = ChurnModel.load(churn_model_path(settings.home))
    async with cli_database(settings) as database:
        return [h.json() for h in await account_health(BusinessStore(database), model, as_of, source=source)]


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
    from sophia.bi import load_forecast
    from sophia.business import BusinessStore

    async with cli_database(settings) as database:
        return await load_forecast(BusinessStore(database), horizon=horizon, until=until, source=source)


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
    from sophia.bi import ask, gateway_model
    from sophia.business import BusinessStore
    from sophia.gateway import Caller, build_gateway

    async with cli_database(settings) as database:
        frames = await BusinessStore(database).frames(source=source)
        gateway = await build_gateway(settings, database)
        try:
            answer = await ask(question, frames, gateway_model(gateway, Caller(), model))
        finally:
            await gateway.aclose()
    return answer.json()


def _add_agents() -> None:
    from sophia.cli._bi_agents import recruit_app, strategy_command

    app.add_typer(recruit_app)
    app.command("strategy")(strategy_command)


_add_agents()
