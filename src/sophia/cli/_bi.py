"""`sophia bi ...`: business intelligence over the synced business tables."""

from __future__ import annotations

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
