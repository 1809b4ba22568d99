"""`sophia experiments create|list|show|stop`: A/B tests of models, prompts, temperature or memory recall for a task."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from sophia.cli._common import console, echo_json, handle_errors, settings_of
from sophia.cli._db import with_database
from sophia.config import TASKS
from sophia.gateway import Experiment, ExperimentBook

app = typer.Typer(
    name="experiments",
    help="Split a task's traffic between variants; the winner is promoted when the difference is significant.",
    no_args_is_help=True,
)


@app.command("create")
@handle_errors
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A name for the experiment.")],
    task: Annotated[str, typer.Option(help=f"The task whose traffic is split: {', '.join(TASKS)}.")],
    variant: Annotated[
        list[str],
        typer.Option(
            help="NAME=SETTING:VALUE[,…] with model, temperature (0-2), prompt (a [learning.prompts] name),"
            " recall (none|hybrid|graph), k; give two or more."
        ),
    ],
    share: Annotated[
        float, typer.Option(help="The share of users (or conversations) in the experiment.")
    ] = 1.0,
    alpha: Annotated[float, typer.Option(help="The test's false-promotion rate.")] = 0.05,
    max_samples: Annotated[
        int, typer.Option(help="Outcomes per variant before it ends inconclusive.")
    ] = 1000,
    split: Annotated[str, typer.Option(help="Keep a variant per 'user' or per 'conversation'.")] = "user",
) -> None:
    """Start an experiment; servers pick it up within seconds."""

    prompts = settings_of(ctx).learning.prompts

    async def work(database: Any) -> Experiment:
        return await ExperimentBook(database, prompts=prompts, check_prompts=True).create(
            name, task, variant, share=share, alpha=alpha, max_samples=max_samples, split=split
        )

    experiment = with_database(ctx, work)
    console.print(
        f"experiment {experiment.name} on {experiment.task}: {', '.join(map(str, experiment.variants))}"
    )


@app.command("list")
@handle_errors
def list_experiments(
    ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False
) -> None:
    """Every experiment with its status, winner and outcomes per variant."""
    experiments = with_database(ctx, lambda database: ExperimentBook(database).all())
    if as_json:
        echo_json([e.to_dict() for e in experiments])
        return
    table = Table("name", "task", "variants", "share", "status", "winner", "outcomes")
    for e in experiments:
        counts = ", ".join(f"{n}: {s.n} @ {s.mean:.3f}" for n, s in e.arms.items())
        table.add_row(
            e.name, e.task, ", ".join(map(str, e.variants)), f"{e.share:g}", e.status, e.winner or "-", counts
        )
    console.print(table if experiments else "no experiments yet")


@app.command("show")
@handle_errors
def show(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The experiment's name.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """One experiment: variants with outcomes and cost from the ledger, the test's statistic, the decision."""

    async def work(database: Any) -> dict[str, Any]:
        book = ExperimentBook(database)
        experiment = await book.get(name)
        return {**experiment.to_dict(), "costs": await book.costs(experiment)}

    found = with_database(ctx, work)
    if as_json:
        echo_json(found)
        return
    console.print(f"{found['name']} · task {found['task']} · {found['status']}", highlight=False)
    table = Table("variant", "outcomes", "mean score", "requests", "cost $")
    for v in found["variants"]:
        arm_name = v.split("=", 1)[0]
        arm = found["arms"].get(arm_name, {"n": 0, "mean": 0.0})
        cost = found["costs"].get(arm_name, {"requests": 0, "cost_usd": 0.0})
        table.add_row(
            v, str(arm["n"]), f"{arm['mean']:.3f}", str(cost["requests"]), f"{cost['cost_usd']:.6f}"
        )
    console.print(table)
    evidence = found["evidence"] or {}
    if "statistic" in evidence:
        console.print(
            f"mSPRT statistic {evidence['statistic']:.3g} against threshold {evidence['threshold']:.3g}"
            f" (1/alpha); winner: {found['winner'] or 'none yet'}",
            highlight=False,
        )


@app.command("stop")
@handle_errors
def stop(ctx: typer.Context, name: Annotated[str, typer.Argument(help="The experiment's name.")]) -> None:
    """End a running experiment without promoting anything."""
    experiment = with_database(ctx, lambda database: ExperimentBook(database).stop(name))
    console.print(f"experiment {experiment.name}: {experiment.status}")
