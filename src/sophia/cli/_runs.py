"""`sophia run`, `sophia runs list|show|approve|deny|cancel` and `sophia worker`: durable runs from the terminal.

The terminal acts as the install's first admin (or a local admin when there is no user yet).
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated

import typer
from rich.table import Table

from sophia.accounts import AccountService, Principal, Role, UserStatus
from sophia.agents import OutcomeMemory, RunLimits
from sophia.cli._common import console, echo_json, handle_errors, run_async, settings_of
from sophia.config import Settings
from sophia.gateway import build_gateway
from sophia.memory import MemoryService, open_memory
from sophia.observability import configure_logging
from sophia.runs import (
    TERMINAL_STATUSES,
    RunRuntime,
    RunService,
    RunSettings,
    RunWorker,
    default_agents,
    default_team,
    load_sealing_key,
    system_database_url,
)
from sophia.store import Database
from sophia.tools import ArgumentSealer, ToolInvoker, ToolRegistry, ToolSettings, register_builtin_tools

__all__ = ["run_command", "runs_app", "worker_command"]

runs_app = typer.Typer(
    name="runs", help="Durable agent runs: list, inspect, approve, cancel.", no_args_is_help=True
)


@dataclass
class _Parts:
    settings: Settings
    database: Database
    invoker: ToolInvoker
    service: RunService
    memory: MemoryService


@asynccontextmanager
async def _parts(settings: Settings) -> AsyncIterator[_Parts]:
    from sophia.store import open_database

    database = await open_database(settings, migrate=True)
    memory = await open_memory(settings, database)
    registry = register_builtin_tools(ToolRegistry(), ToolSettings(), memory=memory)
    invoker = ToolInvoker(registry, database, sealer=ArgumentSealer(load_sealing_key(settings.home)))
    service = RunService(database, invoker, system_database_url=system_database_url(settings))
    try:
        yield _Parts(settings, database, invoker, service, memory)
    finally:
        await service.aclose()
        await memory.close()
        await database.close()


async def _principal(database: Database) -> Principal:
    users = await AccountService(database).list_users()
    admin = next((u for u in users if u.role is Role.ADMIN and u.status is UserStatus.ACTIVE), None)
    if admin is None:
        return Principal(0, "local", Role.ADMIN, None, ("*",), None)
    return Principal(admin.id, admin.name, Role.ADMIN, None, ("*",), None)


@asynccontextmanager
async def _worker(parts: _Parts, executor_id: str | None, concurrency: int) -> AsyncIterator[RunWorker]:
    gateway = await build_gateway(parts.settings, parts.database)
    agents = default_agents(parts.invoker.registry)
    runtime = RunRuntime(
        parts.database,
        gateway,
        parts.invoker,
        agents,
        team=default_team(agents),
        outcomes=OutcomeMemory(parts.memory),  # each finished run is remembered; planners recall it
    )
    worker = RunWorker(
        runtime,
        system_database_url=parts.service.system_database_url,
        executor_id=executor_id,
        settings=RunSettings(concurrency=concurrency),
    )
    await worker.start()
    try:
        yield worker
    finally:
        await worker.stop()
        await gateway.aclose()


# ------------------------------------------------------------------------------------------------ sophia worker


async def _serve_worker(settings: Settings, executor_id: str | None, concurrency: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with _parts(settings) as parts, _worker(parts, executor_id, concurrency) as worker:
        console.print(
            f"worker [bold]{worker.executor_id}[/] is taking runs; Ctrl-C stops it", highlight=False
        )
        await stop.wait()


@handle_errors
def worker_command(
    ctx: typer.Context,
    executor_id: Annotated[
        str | None, typer.Option(help="This worker's id (default: host-pid-random).")
    ] = None,
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Runs this worker executes at once.")] = 4,
) -> None:
    """Take runs from the shared queue until stopped; recover the runs of workers that died."""
    settings = settings_of(ctx)
    configure_logging(settings.logging.level, settings.logging.format)
    run_async(_serve_worker(settings, executor_id, concurrency))


# --------------------------------------------------------------------------------------------------- sophia run


async def _run(settings: Settings, task: str, agent: str, limits: RunLimits, detach: bool) -> None:
    async with _parts(settings) as parts:
        principal = await _principal(parts.database)
        if detach:
            run = await parts.service.create(principal, task, agent=agent, limits=limits)
            console.print(f"queued run [bold]{run.id}[/]; a `sophia worker` will execute it", highlight=False)
            return
        async with _worker(parts, None, 1):
            run = await parts.service.create(principal, task, agent=agent, limits=limits)
            await _follow(parts.service, principal, run.id)


async def _follow(service: RunService, principal: Principal, run_id: str) -> None:
    shown: set[tuple[int, str, str]] = set()
    with console.status(f"run {run_id}: queued") as status:
        while True:
            detail = await service.detail(principal, run_id)
            for step in detail.steps:
                key = (step["seq"], step["name"], step["status"])
                if key not in shown:
                    shown.add(key)
                    console.print(_step_line(step), highlight=False)
            for approval in detail.approvals:
                if approval.status == "pending" and (0, approval.id, "pending") not in shown:
                    shown.add((0, approval.id, "pending"))
                    console.print(
                        f"[yellow]waiting for approval[/] of {approval.tool}: "
                        f"`sophia runs approve {approval.id}` (or deny)",
                        highlight=False,
                    )
            run = detail.run
            status.update(f"run {run_id}: {run.status} · {run.steps} steps · ${run.cost_usd:.4f}")
            if run.status in TERMINAL_STATUSES:
                break
            await asyncio.sleep(0.3)
    colour = "green" if run.status == "succeeded" else "red"
    console.print(f"[{colour}]{run.status}[/] · {run.steps} steps · ${run.cost_usd:.6f}", highlight=False)
    console.print(run.output or run.error or "", highlight=False)


def _step_line(step: dict[str, object]) -> str:
    cost = f" ${float(step['cost_usd']):.6f}" if step["kind"] == "model" else ""  # type: ignore[arg-type]
    error = f" — {step['error']}" if step.get("error") else ""
    return f"  {step['seq']:>3} {step['kind']:<5} {step['name']} [{step['status']}]{cost}{error}"


@handle_errors
def run_command(
    ctx: typer.Context,
    task: Annotated[str, typer.Argument(help="What the agent should do.")],
    agent: Annotated[
        str, typer.Option(help="chat (one agent with tools) or team (planner, specialists, reviewer).")
    ] = "chat",
    max_steps: Annotated[int, typer.Option(min=1, help="Stop after this many model and tool calls.")] = 30,
    max_cost: Annotated[float, typer.Option(min=0, help="Stop once the run has cost this many USD.")] = 1.0,
    max_seconds: Annotated[float, typer.Option(min=1, help="Stop after this long.")] = 600.0,
    detach: Annotated[bool, typer.Option(help="Only queue the run for a `sophia worker`.")] = False,
) -> None:
    """Run an agent durably with live progress; a crash resumes it on the next worker start."""
    settings = settings_of(ctx)
    configure_logging("WARNING", settings.logging.format)
    run_async(_run(settings, task, agent, RunLimits(max_steps, max_cost, max_seconds), detach))


# -------------------------------------------------------------------------------------------------- sophia runs


@runs_app.command("list")
@handle_errors
def list_runs(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option(help="Only runs in this status.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Recent runs, newest first."""

    async def go() -> list[dict[str, object]]:
        async with _parts(settings_of(ctx)) as parts:
            runs = await parts.service.list(await _principal(parts.database), status=status)
            return [r.to_dict() for r in runs]

    rows = run_async(go())
    if as_json:
        echo_json(rows)
        return
    table = Table("id", "agent", "status", "steps", "cost $", "created", "task")
    for row in rows:
        table.add_row(
            str(row["id"]),
            str(row["agent"]),
            str(row["status"]),
            str(row["steps"]),
            f"{float(str(row['cost_usd'])):.4f}",
            str(row["created_at"])[:19],
            str(row["task"])[:50],
        )
    console.print(table if rows else "no runs yet")


@runs_app.command("show")
@handle_errors
def show_run(ctx: typer.Context, run_id: str) -> None:
    """A run with its steps, costs, approvals and audit trail (JSON)."""

    async def go() -> dict[str, object]:
        async with _parts(settings_of(ctx)) as parts:
            return (await parts.service.detail(await _principal(parts.database), run_id)).to_dict()

    echo_json(run_async(go()))


def _decide(ctx: typer.Context, approval_id: str, reason: str | None, approve: bool) -> None:
    async def go() -> str:
        async with _parts(settings_of(ctx)) as parts:
            principal = await _principal(parts.database)
            decide = parts.service.approve if approve else parts.service.deny
            return (await decide(principal, approval_id, reason)).status

    console.print(f"approval {approval_id}: {run_async(go())}", highlight=False)


@runs_app.command("approve")
@handle_errors
def approve(
    ctx: typer.Context, approval_id: str, reason: Annotated[str | None, typer.Option()] = None
) -> None:
    """Approve a pending tool call; the waiting run carries on."""
    _decide(ctx, approval_id, reason, True)


@runs_app.command("deny")
@handle_errors
def deny(ctx: typer.Context, approval_id: str, reason: Annotated[str | None, typer.Option()] = None) -> None:
    """Deny a pending tool call; the agent is told and carries on without it."""
    _decide(ctx, approval_id, reason, False)


@runs_app.command("cancel")
@handle_errors
def cancel(ctx: typer.Context, run_id: str) -> None:
    """Stop a run; finished steps stay recorded."""

    async def go() -> str:
        async with _parts(settings_of(ctx)) as parts:
            return (await parts.service.cancel(await _principal(parts.database), run_id)).status

    console.print(f"run {run_id}: {run_async(go())}", highlight=False)
