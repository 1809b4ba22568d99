"""`RunService`: create, list, show, approve, deny and cancel runs; what the CLI and HTTP routes call.

It talks to DBOS through `DBOSClient` (only the system database), so a server can enqueue runs without
hosting a worker.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from dbos import DBOS, DBOSClient

from sophia.accounts import Principal, Role
from sophia.agents import RunLimits
from sophia.errors import InvalidInput, NotFound
from sophia.runs._durable import approval_topic
from sophia.runs._settings import APP_VERSION, PLUGGED_KINDS, QUEUE, WORKFLOW
from sophia.runs._tables import TERMINAL_STATUSES, RunRow, RunStepRow
from sophia.store import Database, utcnow
from sophia.tools import ApprovalRecord, ToolContext, ToolInvoker, WorkspaceRoots, list_tool_audit

__all__ = ["AGENT_KINDS", "RunDetail", "RunInfo", "RunService"]

AGENT_KINDS = ("chat", "team", "consensus", *PLUGGED_KINDS)
_MAX_TASK_CHARS = 20_000


@dataclass(frozen=True, slots=True)
class RunInfo:
    id: str
    user_id: int | None
    agent: str
    task: str
    status: str
    output: str | None
    error: str | None
    cost_usd: float
    steps: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    executor_id: str | None = None
    workspace: str | None = None

    @classmethod
    def of(cls, row: RunRow) -> RunInfo:
        return cls(
            row.id,
            row.user_id,
            row.agent,
            row.task,
            row.status,
            row.output,
            row.error,
            float(row.cost_usd),
            row.steps,
            row.created_at,
            row.started_at,
            row.finished_at,
            row.executor_id,
            (row.context or {}).get("workspace"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(frozen=True, slots=True)
class RunDetail:
    run: RunInfo
    steps: list[dict[str, Any]]
    approvals: list[ApprovalRecord]
    audit: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.run.to_dict(),
            "step_list": self.steps,
            "approvals": [_approval(a) for a in self.approvals],
            "audit": self.audit,
        }


class RunService:
    """Without `workspaces` runs get no workspace directory (the workspace, shell and git tools then refuse)."""

    def __init__(
        self,
        database: Database,
        invoker: ToolInvoker,
        *,
        system_database_url: str,
        workspaces: WorkspaceRoots | None = None,
    ) -> None:
        self.database = database
        self.invoker = invoker
        self.system_database_url = system_database_url
        self.workspaces = workspaces
        self._client: DBOSClient | None = None

    async def _dbos(self) -> DBOSClient:
        if self._client is None:
            # The system database may not exist yet (no worker ever started); creating it is idempotent.
            await asyncio.to_thread(DBOS.migrate, self.system_database_url)
            self._client = await asyncio.to_thread(DBOSClient, system_database_url=self.system_database_url)
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            self._client.destroy()  # quick engine disposal; no thread, the loop's executor may be gone
            self._client = None

    async def create(
        self,
        principal: Principal,
        task: str,
        *,
        agent: str = "chat",
        limits: RunLimits | None = None,
        workspace: str | None = None,
        options: dict[str, Any] | None = None,
    ) -> RunInfo:
        """Record the run and put it on the shared queue; a worker picks it up.

        The run works in `workspace` (an existing directory under an allowed root) or, by default, in a new
        directory SOPHIA_HOME/workspaces/<run id>.
        """
        if agent not in AGENT_KINDS:
            raise InvalidInput(f"agent must be one of {', '.join(AGENT_KINDS)}, not {agent[:40]!r}")
        if not task.strip() or len(task) > _MAX_TASK_CHARS:
            raise InvalidInput(f"the task must be between 1 and {_MAX_TASK_CHARS} characters")
        if principal.role not in (Role.ADMIN, Role.MEMBER):
            raise InvalidInput(f"a {principal.role.value} account cannot start runs; ask an admin")
        run_id = "run_" + uuid.uuid4().hex
        directory = self._workspace(run_id, workspace)
        row = RunRow(
            id=run_id,
            user_id=principal.user_id,
            agent=agent,
            task=task,
            status="queued",
            output=None,
            error=None,
            cost_usd=0.0,
            steps=0,
            limits={**(limits or RunLimits()).to_record(), **({"options": options} if options else {})},
            context=ToolContext.of(principal, run_id=run_id, workspace=directory).to_record(),
            executor_id=None,
            created_at=utcnow(),
            started_at=None,
            finished_at=None,
        )
        client = await self._dbos()
        async with self.database.transaction() as session:
            session.add(row)
        enqueue_options: Any = {
            "queue_name": QUEUE,
            "workflow_name": WORKFLOW,
            "workflow_id": run_id,
            "app_version": APP_VERSION,
        }
        await asyncio.to_thread(client.enqueue, enqueue_options, run_id)
        return RunInfo.of(row)

    def _workspace(self, run_id: str, requested: str | None) -> Path | None:
        if self.workspaces is None:
            if requested is not None:
                raise InvalidInput("this server gives runs no workspaces; leave the workspace out")
            return None
        return self.workspaces.fresh(run_id) if requested is None else self.workspaces.check(requested)

    async def list(
        self, principal: Principal, *, status: str | None = None, limit: int = 50
    ) -> list[RunInfo]:
        query = sa.select(RunRow).order_by(RunRow.created_at.desc()).limit(min(max(limit, 1), 500))
        if principal.role is not Role.ADMIN:
            query = query.where(RunRow.user_id == principal.user_id)
        if status is not None:
            query = query.where(RunRow.status == status)
        async with self.database.session() as session:
            return [RunInfo.of(row) for row in (await session.scalars(query)).all()]

    async def get(self, principal: Principal, run_id: str) -> RunInfo:
        async with self.database.session() as session:
            row = await session.get(RunRow, run_id)
        if row is None or (principal.role is not Role.ADMIN and row.user_id != principal.user_id):
            raise NotFound(f"there is no run {run_id[:80]!r} you can see; list yours with `sophia runs list`")
        return RunInfo.of(row)

    async def detail(self, principal: Principal, run_id: str) -> RunDetail:
        """The run with its steps (cost per step), its approvals and its audit trail."""
        run = await self.get(principal, run_id)
        query = (
            sa.select(RunStepRow)
            .where(RunStepRow.run_id == run_id, RunStepRow.kind.in_(("model", "tool")))
            .order_by(RunStepRow.seq, RunStepRow.created_at)
        )
        async with self.database.session() as session:
            steps = [_step(row) for row in (await session.scalars(query)).all()]
            audit = await list_tool_audit(session, run_id=run_id, limit=500)
        approvals = await self.invoker.approvals(run_id=run_id)
        entries = [
            {
                "at": e.at,
                "action": e.action,
                "target": e.target,
                "user_id": e.actor_user_id,
                "detail": e.detail,
            }
            for e in reversed(audit)
        ]
        return RunDetail(run, steps, approvals, entries)

    async def approve(
        self, principal: Principal, approval_id: str, reason: str | None = None
    ) -> ApprovalRecord:
        record = await self.invoker.approve(approval_id, principal, reason)
        await self._wake(record)
        return record

    async def deny(self, principal: Principal, approval_id: str, reason: str | None = None) -> ApprovalRecord:
        record = await self.invoker.deny(approval_id, principal, reason)
        await self._wake(record)
        return record

    async def _wake(self, record: ApprovalRecord) -> None:
        """Tell the waiting workflow at once; if this message is lost, its next poll sees the decision."""
        if record.run_id is None:
            return
        client = await self._dbos()
        await asyncio.to_thread(
            client.send, record.run_id, {"approval_id": record.id}, approval_topic(record.id)
        )

    async def cancel(self, principal: Principal, run_id: str) -> RunInfo:
        run = await self.get(principal, run_id)
        if run.status in TERMINAL_STATUSES:
            return run
        client = await self._dbos()
        await asyncio.to_thread(client.cancel_workflow, run_id)
        async with self.database.transaction() as session:
            await session.execute(
                sa.update(RunRow)
                .where(RunRow.id == run_id, RunRow.status.not_in(TERMINAL_STATUSES))
                .values(status="cancelled", finished_at=utcnow(), error=f"cancelled by {principal.user_name}")
            )
        return await self.get(principal, run_id)


def _step(row: RunStepRow) -> dict[str, Any]:
    return {
        "seq": row.seq,
        "kind": row.kind,
        "name": row.name,
        "agent": row.agent,
        "status": row.status,
        "model": row.model,
        "input_tokens": row.input_tokens,
        "output_tokens": row.output_tokens,
        "cost_usd": float(row.cost_usd),
        "detail": row.detail,
        "error": row.error,
        "at": row.created_at,
    }


def _approval(record: ApprovalRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "tool": record.tool,
        "effect": record.effect,
        "arguments": record.arguments,
        "status": record.status,
        "requested_at": record.requested_at,
        "decided_at": record.decided_at,
        "execution": record.execution,
    }
