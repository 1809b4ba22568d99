"""`DurableSteps`: each model and tool call is a DBOS step; side-effecting steps also keep an idempotency row.

DBOS never re-runs a step whose output it checkpointed. A crash after a write tool ran but before DBOS
checkpointed it would re-run it on recovery, so `once` steps claim a `run_steps` row (key run/seq/name)
first and store their output there: a replay returns the stored output, and a claim found unfinished
(the crash hit mid-call) is reported to the agent as interrupted instead of repeated.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import sqlalchemy as sa
from dbos import DBOS
from sqlalchemy.exc import IntegrityError

from sophia.agents import StepFunction, StepRecord
from sophia.runs._tables import RunRow, RunStepRow
from sophia.store import Database, utcnow

__all__ = ["DurableSteps", "approval_topic"]


def approval_topic(approval_id: str) -> str:
    return f"approval:{approval_id}"


class DurableSteps:
    def __init__(self, database: Database, run_id: str, *, poll_seconds: float = 30.0) -> None:
        self.database = database
        self.run_id = run_id
        self.poll_seconds = poll_seconds

    async def run_step(self, seq: int, name: str, function: StepFunction, *, once: bool) -> dict[str, Any]:
        async def body() -> dict[str, Any]:
            return await (self._once(seq, name, function) if once else function())

        result: dict[str, Any] = await DBOS.run_step_async({"name": name}, body)
        return result

    async def _once(self, seq: int, name: str, function: StepFunction) -> dict[str, Any]:
        key = f"once:{name}"[:120]
        async with self.database.session() as session:
            found = await session.get(RunStepRow, (self.run_id, seq, key))
        if found is not None:
            if found.status == "done" and found.output is not None:
                return dict(found.output)
            return _interrupted(name)
        try:
            async with self.database.transaction() as session:
                session.add(_ledger_row(self.run_id, seq, key))
        except IntegrityError:
            return _interrupted(name)
        output = await function()
        async with self.database.transaction() as session:
            await session.execute(
                sa.update(RunStepRow)
                .where(RunStepRow.run_id == self.run_id, RunStepRow.seq == seq, RunStepRow.name == key)
                .values(status="done", output=output, updated_at=utcnow())
            )
        return output

    async def wait_for_decision(self, approval_id: str, check: Callable[[], Awaitable[str]]) -> str:
        """Durable wait: a checkpointed status check, then a DBOS `recv` (woken by the approve/deny call)."""

        async def checked() -> str:
            return await check()

        while True:
            status: str = await DBOS.run_step_async({"name": "approval:check"}, checked)
            if status != "pending":
                await self._set_status("running")
                return status
            await self._set_status("waiting_approval")
            await DBOS.recv_async(approval_topic(approval_id), timeout_seconds=self.poll_seconds)

    async def record(self, step: StepRecord) -> None:
        """Upsert the step row (a replay writes the same row again) and the run's running totals."""
        now = utcnow()
        async with self.database.transaction() as session:
            await session.merge(
                RunStepRow(
                    run_id=self.run_id,
                    seq=step.seq,
                    name=step.name[:120],
                    kind=step.kind,
                    agent=step.agent,
                    status=step.status,
                    model=step.model,
                    input_tokens=step.input_tokens,
                    output_tokens=step.output_tokens,
                    cost_usd=step.cost_usd,
                    detail=step.detail,
                    error=step.error,
                    output=None,
                    created_at=now,
                    updated_at=now,
                )
            )
            await session.flush()
            totals = sa.select(
                sa.func.count(), sa.func.coalesce(sa.func.sum(RunStepRow.cost_usd), 0.0)
            ).where(RunStepRow.run_id == self.run_id, RunStepRow.kind.in_(("model", "tool")))
            count, cost = (await session.execute(totals)).one()
            await session.execute(
                sa.update(RunRow)
                .where(RunRow.id == self.run_id)
                .values(steps=int(count), cost_usd=float(cost))
            )

    async def _set_status(self, status: str) -> None:
        async with self.database.transaction() as session:
            await session.execute(
                sa.update(RunRow)
                .where(RunRow.id == self.run_id, RunRow.status.in_(("running", "waiting_approval")))
                .values(status=status)
            )


def _ledger_row(run_id: str, seq: int, key: str) -> RunStepRow:
    now = utcnow()
    return RunStepRow(
        run_id=run_id,
        seq=seq,
        name=key,
        kind="once",
        agent=None,
        status="running",
        model=None,
        input_tokens=0,
        output_tokens=0,
        cost_usd=0.0,
        detail={},
        error=None,
        output=None,
        created_at=now,
        updated_at=now,
    )


def _interrupted(name: str) -> dict[str, Any]:
    return {
        "status": "error",
        "code": "step_interrupted",
        "message": f"{name} was interrupted by a worker crash and may have taken effect; "
        "it is not repeated automatically, check its effect before trying again",
    }
