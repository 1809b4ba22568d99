"""The run workflow: one DBOS workflow per run; its model and tool calls are the steps.

On recovery DBOS calls the workflow again: finished steps return their checkpointed output, so the
agent loop replays to where it was and carries on live from there.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from dbos import DBOS

from sophia.agents import AgentResult, RunLimits, RunSession, TeamResult, consensus, outcome_namespace
from sophia.errors import SophiaError
from sophia.runs._durable import DurableSteps
from sophia.runs._kinds import KindCall
from sophia.runs._runtime import RunRuntime, current_runtime
from sophia.runs._settings import PLUGGED_KINDS, WORKFLOW
from sophia.runs._tables import TERMINAL_STATUSES, RunRow
from sophia.store import utcnow
from sophia.tools import ToolContext

__all__ = ["execute_run", "run_workflow"]


@DBOS.workflow(name=WORKFLOW)
async def run_workflow(run_id: str) -> dict[str, Any]:
    return await execute_run(current_runtime(), run_id)


async def execute_run(runtime: RunRuntime, run_id: str) -> dict[str, Any]:
    run = await _load(runtime, run_id)
    if run.status in TERMINAL_STATUSES:
        return {"status": run.status, "output": run.output}
    await _update(
        runtime,
        run_id,
        status="running",
        started_at=run.started_at or utcnow(),
        executor_id=DBOS.executor_id if DBOS.workflow_id else None,
    )
    context = ToolContext.from_record(run.context)
    steps = DurableSteps(runtime.database, run_id, poll_seconds=runtime.approval_poll_seconds)
    if run.agent in runtime.kinds or run.agent in PLUGGED_KINDS:
        return await _execute_kind(runtime, run, context, steps)
    session = runtime.runner.session(context=context, limits=RunLimits.from_record(run.limits), steps=steps)
    try:
        output, tried = await _execute(runtime, session, run.agent, run.task, context)
    except SophiaError as error:
        await _finish(runtime, session, run, "failed", None, error.message)
        return {"status": "failed", "error": error.message}
    await _finish(runtime, session, run, "succeeded", output, None, tried)
    return {"status": "succeeded", "output": output}


async def _execute_kind(
    runtime: RunRuntime, run: RunRow, context: ToolContext, steps: DurableSteps
) -> dict[str, Any]:
    executor = runtime.kinds.get(run.agent)
    if executor is None:
        message = f"this worker cannot execute {run.agent} runs; start it with `sophia worker`"
        await _update(runtime, run.id, status="failed", error=message, finished_at=utcnow())
        return {"status": "failed", "error": message}
    limits = RunLimits.from_record(run.limits)
    options = dict((run.limits or {}).get("options") or {})
    try:
        outcome = await executor(KindCall(run.id, run.task, options, limits, context, steps))
    except SophiaError as error:
        await _update(runtime, run.id, status="failed", error=error.message, finished_at=utcnow())
        return {"status": "failed", "error": error.message}
    await _update(
        runtime,
        run.id,
        status=outcome.status,
        output=outcome.output,
        error=outcome.error,
        finished_at=utcnow(),
        cost_usd=outcome.cost_usd,
    )
    return {"status": outcome.status, "output": outcome.output}


async def _execute(
    runtime: RunRuntime, session: RunSession, agent: str, task: str, context: ToolContext
) -> tuple[str, list[str]]:
    if agent == "team" and runtime.team is not None:
        lessons = await _lessons(runtime, task, context)
        team: TeamResult = await runtime.team.run(session, task, lessons=lessons)
        return team.output, [f"{step.agent}: {step.task}" for step in team.plan]
    if agent == "consensus":
        if runtime.panel is None:
            raise SophiaError("this worker has no consensus panel; start it with `sophia worker`")
        panel = runtime.panel
        agreed = await consensus(session, list(panel.members), panel.judge, task)
        return agreed.output, [answer.agent for answer in agreed.answers]
    spec = runtime.agents.get(agent) or runtime.agents["chat"]
    single: AgentResult = await session.run(spec, task)
    return single.output, sorted({s.name for s in single.steps if s.kind == "tool"})


async def _lessons(runtime: RunRuntime, task: str, context: ToolContext) -> list[str]:
    """Recalled as a step: recall results change over time, and a replay must see what the plan saw."""
    outcomes = runtime.outcomes
    if outcomes is None:
        return []

    async def recall() -> list[str]:
        return await outcomes.recall(task, namespace=outcome_namespace(context.user_id))

    found: list[str] = await DBOS.run_step_async({"name": "outcomes:recall"}, recall)
    return found


async def _finish(
    runtime: RunRuntime,
    session: RunSession,
    run: RunRow,
    status: str,
    output: str | None,
    error: str | None,
    tried: list[str] | None = None,
) -> None:
    state = session.state
    finished = utcnow()
    await _update(
        runtime,
        run.id,
        status=status,
        output=output,
        error=error,
        finished_at=finished,
        cost_usd=state.cost_usd,
    )
    started = run.started_at or run.created_at
    outcomes = runtime.outcomes
    if outcomes is None:
        return

    async def remember() -> str:
        return await outcomes.record(
            namespace=outcome_namespace(ToolContext.from_record(run.context).user_id),
            task=run.task,
            status=status,
            tried=tried or list(dict.fromkeys(s.name for s in state.records if s.kind == "tool")),
            result=(output or error or "")[:800],
            cost_usd=state.cost_usd,
            errors=state.errors + ([error] if error else []),
            run_id=run.id,
            models=state.models,
            latency_seconds=(finished - started).total_seconds() if started else None,
        )

    await DBOS.run_step_async({"name": "outcomes:remember"}, remember)


async def _load(runtime: RunRuntime, run_id: str) -> RunRow:
    async with runtime.database.session() as session:
        run = await session.get(RunRow, run_id)
    if run is None:
        raise SophiaError(f"run {run_id} is not in the database; it cannot be executed")
    return run


async def _update(runtime: RunRuntime, run_id: str, **values: Any) -> None:
    async with runtime.database.transaction() as session:
        await session.execute(
            sa.update(RunRow)
            .where(RunRow.id == run_id, RunRow.status.not_in(TERMINAL_STATUSES))
            .values(**values)
        )
