"""`sophia code "task" --repo PATH|URL`: a durable coding run — edit, check, commit, push, open a draft PR."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import typer

from sophia.accounts import Principal
from sophia.agents import RunLimits
from sophia.cli._common import console, handle_errors, run_async, settings_of
from sophia.cli._runs import _step_line, _worker, local_admin, open_parts
from sophia.coding import code_run_options
from sophia.config import Settings
from sophia.observability import configure_logging
from sophia.runs import TERMINAL_STATUSES, RunService

__all__ = ["code_command"]

_APPROVED_HERE = ("code.push", "code.pr")
"""What `--approve` decides from the terminal; a deploy after the merge waits for a person even then."""


async def _follow(service: RunService, principal: Principal, run_id: str, approve: bool) -> str:
    shown: set[tuple[int, str, str]] = set()
    while True:
        detail = await service.detail(principal, run_id)
        for step in detail.steps:
            key = (step["seq"], step["name"], step["status"])
            if key not in shown:
                shown.add(key)
                console.print(_step_line(step), highlight=False, markup=False)
        for approval in detail.approvals:
            if approval.status != "pending" or (0, approval.id, "pending") in shown:
                continue
            shown.add((0, approval.id, "pending"))
            if approve and approval.tool in _APPROVED_HERE:
                await service.approve(principal, approval.id, "approved by `sophia code --approve`")
                console.print(f"approved {approval.tool} ({approval.id})", highlight=False)
            else:
                console.print(
                    f"[yellow]waiting for approval[/] of {approval.tool}: `sophia runs approve {approval.id}`",
                    highlight=False,
                )
        run = detail.run
        if run.status in TERMINAL_STATUSES:
            colour = "green" if run.status == "succeeded" else "red"
            console.print(
                f"[{colour}]{run.status}[/] · {run.steps} steps · ${run.cost_usd:.6f}", highlight=False
            )
            console.print(run.output or run.error or "", highlight=False, markup=False)
            return run.status
        await asyncio.sleep(0.3)


async def _code(
    settings: Settings, task: str, options: dict[str, Any], limits: RunLimits, approve: bool, detach: bool
) -> str:
    async with open_parts(settings) as parts:
        principal = await local_admin(parts.database)
        if detach:
            run = await parts.service.create(principal, task, agent="code", limits=limits, options=options)
            console.print(
                f"queued code run [bold]{run.id}[/]; a `sophia worker` will execute it", highlight=False
            )
            return "succeeded"
        async with _worker(parts, None, 1):
            run = await parts.service.create(principal, task, agent="code", limits=limits, options=options)
            console.print(f"code run [bold]{run.id}[/] works in {run.workspace}", highlight=False)
            return await _follow(parts.service, principal, run.id, approve)


@handle_errors
def code_command(
    ctx: typer.Context,
    task: Annotated[str, typer.Argument(help="What to change, e.g. 'parse_duration rejects 1h30m; fix it'.")],
    repo: Annotated[
        str, typer.Option(help="A local git repository (cloned, never edited in place) or a URL.")
    ],
    branch: Annotated[
        str | None, typer.Option(help="The new branch (default: sophia/<task words>-<id>).")
    ] = None,
    push: Annotated[
        bool, typer.Option("--push/--no-push", help="Push and open a draft pull request.")
    ] = True,
    base: Annotated[str | None, typer.Option(help="The pull request's base branch.")] = None,
    test_command: Annotated[
        str | None, typer.Option(help="The check to run instead of the detected ones.")
    ] = None,
    approve: Annotated[
        bool,
        typer.Option(
            help="Approve this run's held push and pull request from this terminal (never its deploy)."
        ),
    ] = False,
    detach: Annotated[
        bool,
        typer.Option(help="Only queue the run for a `sophia worker` (follow it with `sophia runs show`)."),
    ] = False,
    max_steps: Annotated[int, typer.Option(min=5, help="Stop after this many steps.")] = 60,
    max_cost: Annotated[float, typer.Option(min=0, help="Stop once the task has cost this many USD.")] = 2.0,
) -> None:
    """Fix or change a repository: map it, edit, run its checks in the sandbox, commit, push, open a draft PR."""
    settings = settings_of(ctx)
    configure_logging("WARNING", settings.logging.format)
    options = code_run_options(
        repo, branch=branch, push=push, base=base, test_command=test_command, settings=settings
    )
    limits = RunLimits(max_steps=max_steps, max_cost_usd=max_cost, max_seconds=3600.0)
    status = run_async(_code(settings, task, options, limits, approve, detach))
    if status != "succeeded":
        raise typer.Exit(1)
