"""`sophia run`, `sophia runs list|show|approve|deny|cancel` and `sophia worker`: durable runs from the terminal.

The terminal acts as the install's first admin (or a local admin when there is no user yet).
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Annotated

import typer
from rich.table import Table

from sophia.accounts import AccountService, Principal, Role, UserStatus
from sophia.agents import OutcomeMemory, RunLimits
from sophia.bi import BiRun, BiService, ReportSchedule
from sophia.cli._common import cli_database, console, echo_json, handle_errors, run_async, settings_of
from sophia.coding import CodingOrchestrator
from sophia.config import Settings
from sophia.connectors import SyncSchedule
from sophia.gateway import build_gateway
from sophia.memory import ConsolidationSchedule, MemoryService, open_memory
from sophia.observability import configure_logging
from sophia.research import ResearchService
from sophia.runs import (
    TERMINAL_STATUSES,
    ApprovalDesk,
    ResearchRun,
    RunInfo,
    RunRuntime,
    RunService,
    RunSettings,
    RunWorker,
    default_agents,
    default_panel,
    default_team,
    system_database_url,
)
from sophia.server import ToolKit, open_toolkit
from sophia.store import Database
from sophia.tools import ToolInvoker

__all__ = ["local_admin", "open_parts", "run_command", "runs_app", "worker_command"]

runs_app = typer.Typer(
    name="runs", help="Durable agent runs: list, inspect, approve, cancel.", no_args_is_help=True
)


@dataclass
class _Parts:
    settings: Settings
    database: Database
    tools: ToolKit
    service: RunService
    memory: MemoryService

    @property
    def invoker(self) -> ToolInvoker:
        return self.tools.invoker


@asynccontextmanager
async def open_parts(settings: Settings) -> AsyncIterator[_Parts]:
    async with cli_database(settings) as database:
        memory = await open_memory(settings, database)
        tools = await open_toolkit(settings, database, memory)
        service = RunService(
            database,
            tools.invoker,
            system_database_url=system_database_url(settings),
            workspaces=tools.workspaces,
        )
        try:
            yield _Parts(settings, database, tools, service, memory)
        finally:
            await service.aclose()
            await tools.aclose()
            await memory.close()


async def local_admin(database: Database) -> Principal:
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
        panel=default_panel(agents),
        outcomes=OutcomeMemory(parts.memory),  # each finished run is remembered; planners recall it
        kinds={
            "code": CodingOrchestrator(
                gateway, parts.invoker, parts.memory, model=parts.settings.coding.model
            ),
            "research": ResearchRun(
                ResearchService(parts.settings, gateway=gateway, memory=parts.memory), parts.database
            ),
            "bi": BiRun(BiService(parts.database, parts.settings.home, gateway)),
        },
    )
    worker = RunWorker(
        runtime,
        system_database_url=parts.service.system_database_url,
        executor_id=executor_id,
        settings=RunSettings.of(parts.settings, concurrency=concurrency),
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
    async with open_parts(settings) as parts, _worker(parts, executor_id, concurrency) as worker:
        forgetting = ConsolidationSchedule(parts.memory, settings.memory.consolidate_every)
        forgetting.start()
        console.print(
            f"worker [bold]{worker.executor_id}[/] is taking runs; Ctrl-C stops it", highlight=False
        )
        try:
            async with AsyncExitStack() as stack:
                if parts.tools.connectors is not None:
                    await stack.enter_async_context(
                        SyncSchedule(settings, parts.database, parts.memory, parts.tools.connectors)
                    )
                await stack.enter_async_context(
                    ReportSchedule(settings, parts.database, parts.tools.connectors)
                )
                await stop.wait()
        finally:
            await forgetting.stop()


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


@dataclass(frozen=True, slots=True)
class _Order:
    task: str
    agent: str
    limits: RunLimits
    workspace: str | None
    detach: bool


async def _run(settings: Settings, order: _Order) -> None:
    async with open_parts(settings) as parts:
        principal = await local_admin(parts.database)

        async def create() -> RunInfo:
            return await parts.service.create(
                principal, order.task, agent=order.agent, limits=order.limits, workspace=order.workspace
            )

        if order.detach:
            run = await create()
            console.print(f"queued run [bold]{run.id}[/]; a `sophia worker` will execute it", highlight=False)
            return
        async with _worker(parts, None, 1):
            run = await create()
            console.print(f"run [bold]{run.id}[/] works in {run.workspace}", highlight=False)
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
        str,
        typer.Option(
            help="chat (one agent with tools), team (planner, specialists, reviewer), consensus "
            "(independent answers, a judge picks), research (a cited report; the output is its JSON) or bi "
            "(a business question answered from the synced records; the output is the answer's JSON)."
        ),
    ] = "chat",
    max_steps: Annotated[int, typer.Option(min=1, help="Stop after this many model and tool calls.")] = 30,
    max_cost: Annotated[float, typer.Option(min=0, help="Stop once the run has cost this many USD.")] = 1.0,
    max_seconds: Annotated[float, typer.Option(min=1, help="Stop after this long.")] = 600.0,
    detach: Annotated[bool, typer.Option(help="Only queue the run for a `sophia worker`.")] = False,
    workspace: Annotated[
        str | None,
        typer.Option(
            help="Work in this existing directory (under SOPHIA_HOME/workspaces or a [tools] workspace_roots "
            "entry); default: a new SOPHIA_HOME/workspaces/<run id>."
        ),
    ] = None,
) -> None:
    """Run an agent durably with live progress; a crash resumes it on the next worker start."""
    settings = settings_of(ctx)
    configure_logging("WARNING", settings.logging.format)
    limits = RunLimits(max_steps, max_cost, max_seconds)
    run_async(_run(settings, _Order(task, agent, limits, workspace, detach)))


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
        async with open_parts(settings_of(ctx)) as parts:
            runs = await parts.service.list(await local_admin(parts.database), status=status)
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
        async with open_parts(settings_of(ctx)) as parts:
            return (await parts.service.detail(await local_admin(parts.database), run_id)).to_dict()

    echo_json(run_async(go()))


def _decide(ctx: typer.Context, approval_id: str, reason: str | None, approve: bool) -> None:
    async def go() -> str:
        async with open_parts(settings_of(ctx)) as parts:
            principal = await local_admin(parts.database)
            desk = ApprovalDesk(parts.service)  # a call held outside a run runs here once approved
            decide = desk.approve if approve else desk.deny
            return str((await decide(principal, approval_id, reason)).approval.status)

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
        async with open_parts(settings_of(ctx)) as parts:
            return (await parts.service.cancel(await local_admin(parts.database), run_id)).status

    console.print(f"run {run_id}: {run_async(go())}", highlight=False)
