"""The `research` run kind: a research question as a durable run.

Each search, page read and model call of the pipeline is a DBOS step, so a worker killed mid-run resumes
without searching or fetching again. Progress events (`plan`, `searched`, `read`, `claims`, …) are kept as
`run_steps` rows of kind `event`, keyed by their content: a replay that emits the same event again adds no row.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from sophia.accounts import Role
from sophia.agents import StepExecutor
from sophia.research import ResearchService
from sophia.runs._kinds import KindCall, KindOutcome
from sophia.runs._tables import RunStepRow
from sophia.store import Database, utcnow

__all__ = ["EVENT_KIND", "ResearchEvent", "ResearchRun", "research_events"]

EVENT_KIND = "event"
_OPTIONS = ("depth", "sources", "mode")


@dataclass(frozen=True, slots=True)
class ResearchEvent:
    at: datetime
    kind: str
    data: dict[str, Any]

    def json(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "kind": self.kind, "data": self.data}


class ResearchRun:
    """The executor `RunRuntime.kinds["research"]` calls; the report's JSON is the run's output."""

    def __init__(self, service: ResearchService, database: Database) -> None:
        self.service = service
        self.database = database

    async def __call__(self, call: KindCall) -> KindOutcome:
        options = {k: v for k, v in call.options.items() if k in _OPTIONS and v is not None}
        report = await self.service.research(
            call.task,
            user_id=call.context.user_id,
            remember=call.context.role in (Role.MEMBER, Role.ADMIN),
            step=_durable(call.steps),
            on_event=_EventLog(self.database, call.run_id).add,
            **options,
        )
        return KindOutcome(
            "succeeded", json.dumps(report.json()), cost_usd=report.cost_usd, detail={"stats": report.stats}
        )


def _durable(steps: StepExecutor) -> Callable[[str, Callable[[], Awaitable[Any]]], Awaitable[Any]]:
    """The pipeline's step runner on the run's steps: each body's value is checkpointed as `{"value": …}`."""

    async def step(name: str, function: Callable[[], Awaitable[Any]]) -> Any:
        async def body() -> dict[str, Any]:
            return {"value": await function()}

        return (await steps.run_step(0, name, body, once=False))["value"]

    return step


class _EventLog:
    def __init__(self, database: Database, run_id: str) -> None:
        self.database = database
        self.run_id = run_id

    async def add(self, kind: str, data: dict[str, Any]) -> None:
        encoded = json.dumps([kind, data], sort_keys=True, default=str)
        seq = int.from_bytes(hashlib.sha256(encoded.encode()).digest()[:4], "big") >> 1
        key = (self.run_id, seq, kind[:120])
        now = utcnow()
        try:
            async with self.database.transaction() as session:
                if await session.get(RunStepRow, key) is not None:
                    return  # a replay re-emitting an event already kept
                session.add(
                    RunStepRow(
                        run_id=self.run_id,
                        seq=seq,
                        name=kind[:120],
                        kind=EVENT_KIND,
                        agent="research",
                        status="ok",
                        model=None,
                        input_tokens=0,
                        output_tokens=0,
                        cost_usd=0.0,
                        detail=json.loads(json.dumps(data, default=str)),
                        error=None,
                        output=None,
                        created_at=now,
                        updated_at=now,
                    )
                )
        except IntegrityError:
            return


async def research_events(database: Database, run_id: str, *, after: int = 0) -> list[ResearchEvent]:
    """The run's progress events in the order they happened, from the `after`-th on."""
    query = (
        sa.select(RunStepRow)
        .where(RunStepRow.run_id == run_id, RunStepRow.kind == EVENT_KIND)
        .order_by(RunStepRow.created_at, RunStepRow.seq)
        .offset(after)
    )
    async with database.session() as session:
        rows = (await session.scalars(query)).all()
    return [ResearchEvent(row.created_at, row.name, dict(row.detail or {})) for row in rows]
