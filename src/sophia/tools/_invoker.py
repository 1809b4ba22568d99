"""`ToolInvoker`: validate, apply the approval policy, run with limits, and audit every write and denial."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel

from sophia.accounts import Principal, Role
from sophia.errors import PermissionDenied
from sophia.store import Database, utcnow
from sophia.tools._approvals import ApprovalRecord, ToolApprovalRow, list_approvals, new_row
from sophia.tools._audit import record_tool_audit
from sophia.tools._errors import (
    ApprovalNotFound,
    ApprovalRequired,
    ApprovalStateError,
    ToolDenied,
    ToolFailed,
)
from sophia.tools._execute import Output, call_tool
from sophia.tools._model import DRY_RUN_TAG, SideEffect, Tool, ToolCallResult, ToolContext
from sophia.tools._notify import ApprovalNotifier, announce_approval
from sophia.tools._policy import ApprovalPolicy, Decision, ToolSettings
from sophia.tools._redaction import summarize
from sophia.tools._registry import ToolRegistry
from sophia.tools._schema import check_arguments
from sophia.tools._seal import ArgumentSealer

__all__ = ["ToolInvoker"]

_AUDIT_TEXT_CHARS = 1000
_AUDIT_STATE_CHARS = 4000


class ToolInvoker:
    """The one way an agent, the server or MCP calls a tool; the policy decides, never the arguments."""

    def __init__(
        self,
        registry: ToolRegistry,
        database: Database,
        *,
        policy: ApprovalPolicy | None = None,
        settings: ToolSettings | None = None,
        sealer: ArgumentSealer | None = None,
        notifiers: list[ApprovalNotifier] | None = None,
    ) -> None:
        self.registry = registry
        self.notifiers: list[ApprovalNotifier] = list(notifiers or ())
        self.database = database
        self.settings = settings or ToolSettings()
        self.policy = policy or ApprovalPolicy.from_settings(self.settings)
        self.sealer = sealer or ArgumentSealer()

    async def invoke(
        self, name: str, arguments: Mapping[str, Any] | str | None, context: ToolContext
    ) -> ToolCallResult:
        """Run the tool now (`auto`), raise ApprovalRequired (`ask`) or ToolDenied (`deny`)."""
        tool = self.registry.get(name)
        validated = check_arguments(tool.name, tool.arguments, arguments)
        decision = self.policy.decide(tool, context.role)
        if decision is Decision.DENY:
            await self._audit_denial(tool, validated, context, "policy")
            raise ToolDenied(
                f"the approval policy does not let the {context.role.value} role call {tool.name}", tool.name
            )
        if decision is Decision.ASK and _is_dry_run(tool, validated):
            return await self._run(tool, validated, context, decision="dry_run", approval_id=None)
        if decision is Decision.ASK:
            if tool.precheck is not None:  # no approval record for a call that cannot succeed for this caller
                await tool.precheck(validated, context)
            held = await self._request_approval(tool, validated, context)
            await announce_approval(self.notifiers, held)
            raise ApprovalRequired(held)
        return await self._run(tool, validated, context, decision="auto", approval_id=None)

    # ------------------------------------------------------------------------------------------- approvals

    async def approval(self, approval_id: str) -> ApprovalRecord:
        async with self.database.session() as session:
            return ApprovalRecord.of(await _row(session, approval_id))

    async def approvals(
        self, *, status: str | None = None, run_id: str | None = None, user_id: int | None = None
    ) -> list[ApprovalRecord]:
        async with self.database.session() as session:
            return await list_approvals(session, status=status, run_id=run_id, user_id=user_id)

    async def approve(self, approval_id: str, by: Principal, reason: str | None = None) -> ApprovalRecord:
        return await self._decide(approval_id, ToolContext.of(by), _decider_check(by), "approved", reason)

    async def deny(self, approval_id: str, by: Principal, reason: str | None = None) -> ApprovalRecord:
        return await self._decide(approval_id, ToolContext.of(by), _decider_check(by), "denied", reason)

    async def decide_own(
        self, approval_id: str, context: ToolContext, *, approved: bool, reason: str | None = None
    ) -> ApprovalRecord:
        """The requester's own answer, asked of the person in their own client (MCP elicitation)."""

        def check(row: ToolApprovalRow) -> None:
            same = row.requested_by_user_id == context.user_id and row.context.get("key_id") == context.key_id
            if not same or context.role not in (Role.ADMIN, Role.MEMBER):
                raise PermissionDenied(f"only the requester may answer approval {row.id} in their client")

        status = "approved" if approved else "denied"
        return await self._decide(approval_id, context, check, status, reason)

    async def hand_over(self, approval_id: str) -> None:
        """The live turn that held this call stopped waiting: a later approval runs the call where it is decided."""
        async with self.database.transaction() as session:
            row = await _row(session, approval_id, lock=True)
            if row.status == "pending" and row.context.get("resumed_by") is not None:
                row.context = {**row.context, "resumed_by": None}

    async def invoke_approved(self, approval_id: str) -> ToolCallResult:
        """Run an approved call exactly once; later calls return the stored result and never run it again."""
        async with self.database.session() as session:
            row = await _row(session, approval_id)
        _check_runnable(row)
        if row.execution is not None:
            return _stored_outcome(row)
        tool = self.registry.get(row.tool)
        context = ToolContext.from_record(row.context)
        validated = check_arguments(tool.name, tool.arguments, self.sealer.open(row.sealed_arguments, row.id))
        if self.policy.decide(tool, context.role) is Decision.DENY:
            raise ToolDenied(
                f"the approval policy no longer lets {context.role.value} call {tool.name}", tool.name
            )
        if not await self._claim(approval_id):
            async with self.database.session() as session:
                return _stored_outcome(await _row(session, approval_id))
        return await self._run(tool, validated, context, decision="approved", approval_id=approval_id)

    async def _request_approval(
        self, tool: Tool, arguments: BaseModel, context: ToolContext
    ) -> ApprovalRecord:
        approval_id = uuid.uuid4().hex
        plain = arguments.model_dump(mode="json")
        row = new_row(
            id=approval_id,
            tool=tool.name,
            tool_group=tool.group,
            effect=tool.effect.value,
            arguments=summarize(plain, _AUDIT_TEXT_CHARS),
            sealed_arguments=self.sealer.seal(plain, approval_id),
            context=context.to_record(),
            requested_by_user_id=context.user_id,
            run_id=context.run_id,
            agent=context.agent,
        )
        async with self.database.transaction() as session:
            session.add(row)
            record_tool_audit(
                session,
                "tool.approval_requested",
                tool,
                context,
                {"approval_id": approval_id, "arguments": row.arguments},
            )
        return ApprovalRecord.of(row)

    async def _decide(
        self,
        approval_id: str,
        by: ToolContext,
        check: Callable[[ToolApprovalRow], None],
        status: str,
        reason: str | None,
    ) -> ApprovalRecord:
        async with self.database.transaction() as session:
            row = await _row(session, approval_id, lock=True)
            check(row)
            if row.status != "pending":
                raise ApprovalStateError(f"approval {approval_id} was already {row.status}; it cannot change")
            row.status, row.decided_by_user_id, row.decided_at = status, by.user_id, utcnow()
            row.reason = summarize(reason, 500) if reason else None
            tool = self.registry.get(row.tool) if row.tool in self.registry else _ghost(row)
            decider = dataclasses.replace(by, run_id=row.run_id, agent=row.agent)
            action = "tool.approval_approved" if status == "approved" else "tool.approval_denied"
            detail = {"approval_id": approval_id, "arguments": row.arguments, "reason": row.reason}
            record_tool_audit(session, action, tool, decider, detail)
            return ApprovalRecord.of(row)

    async def _claim(self, approval_id: str) -> bool:
        """Atomically move an approved call to `running`; only one caller ever wins."""
        async with self.database.transaction() as session:
            result = await session.execute(
                sa.update(ToolApprovalRow)
                .where(
                    ToolApprovalRow.id == approval_id,
                    ToolApprovalRow.status == "approved",
                    ToolApprovalRow.execution.is_(None),
                )
                .values(execution="running")
            )
            return bool(getattr(result, "rowcount", 0) == 1)

    # ----------------------------------------------------------------------------------------- execution

    async def _run(
        self,
        tool: Tool,
        arguments: BaseModel,
        context: ToolContext,
        *,
        decision: str,
        approval_id: str | None,
    ) -> ToolCallResult:
        try:
            output = await call_tool(
                tool,
                arguments,
                context,
                timeout=self.settings.timeout_seconds,
                output_limit=self.settings.max_output_bytes,
            )
        except ToolFailed as failure:
            await self._finish(tool, arguments, context, decision, approval_id, None, failure)
            raise
        result = ToolCallResult(
            tool.name, output.value, output.text, output.truncated, approval_id, output.before, output.after
        )
        await self._finish(tool, arguments, context, decision, approval_id, output, None)
        return result

    async def _finish(
        self,
        tool: Tool,
        arguments: BaseModel,
        context: ToolContext,
        decision: str,
        approval_id: str | None,
        output: Output | None,
        failure: ToolFailed | None,
    ) -> None:
        if tool.effect is SideEffect.READ and approval_id is None:
            return
        detail: dict[str, Any] = {
            "decision": decision,
            "approval_id": approval_id,
            "arguments": summarize(arguments.model_dump(mode="json"), _AUDIT_TEXT_CHARS),
            "status": "ok" if failure is None else failure.code,
        }
        if output is not None:
            detail["result"] = summarize(output.text, _AUDIT_TEXT_CHARS)
            detail["truncated"] = output.truncated
            detail["before"] = summarize(output.before, _AUDIT_STATE_CHARS)
            detail["after"] = summarize(output.after, _AUDIT_STATE_CHARS)
        else:
            detail["error"] = failure.message if failure else None
        async with self.database.transaction() as session:
            if approval_id is not None:
                await _store_execution(session, approval_id, output, failure, tool.name)
            record_tool_audit(session, "tool.call", tool, context, detail)

    async def _audit_denial(self, tool: Tool, arguments: BaseModel, context: ToolContext, by: str) -> None:
        detail = {"decision": "deny", "by": by, "arguments": summarize(arguments.model_dump(mode="json"))}
        async with self.database.transaction() as session:
            record_tool_audit(session, "tool.denied", tool, context, detail)


async def _row(session: Any, approval_id: str, *, lock: bool = False) -> ToolApprovalRow:
    query = sa.select(ToolApprovalRow).where(ToolApprovalRow.id == approval_id)
    row = (await session.scalars(query.with_for_update() if lock else query)).first()
    if row is None:
        raise ApprovalNotFound(f"there is no tool approval {approval_id[:40]!r}")
    return row  # type: ignore[no-any-return]


async def _store_execution(
    session: Any, approval_id: str, output: Output | None, failure: ToolFailed | None, tool: str
) -> None:
    if output is not None:
        record: dict[str, Any] = {"tool": tool, "output": output.value, "text": output.text}
        record["truncated"] = output.truncated
    else:
        record = {
            "tool": tool,
            "error": failure.message if failure else "",
            "code": getattr(failure, "code", ""),
        }
    await session.execute(
        sa.update(ToolApprovalRow)
        .where(ToolApprovalRow.id == approval_id)
        .values(execution="succeeded" if output else "failed", executed_at=utcnow(), result=record)
    )


def _check_runnable(row: ToolApprovalRow) -> None:
    if row.status == "pending":
        raise ApprovalStateError(
            f"approval {row.id} for {row.tool} is still pending; a person must approve it"
        )
    if row.status == "denied":
        raise ToolDenied(f"a person denied the call to {row.tool} (approval {row.id})", row.tool)


def _stored_outcome(row: ToolApprovalRow) -> ToolCallResult:
    if row.execution == "running" or row.result is None:
        raise ApprovalStateError(f"approval {row.id} is already running; it will not be run a second time")
    if row.execution == "failed":
        raise ToolFailed(str(row.result.get("error") or f"tool {row.tool} failed"), row.tool)
    return ToolCallResult.from_record(row.result, row.id)


def _decider_check(by: Principal) -> Callable[[ToolApprovalRow], None]:
    """Admins decide any request; members only their own; viewers and pending accounts none."""

    def check(row: ToolApprovalRow) -> None:
        if by.role is Role.ADMIN:
            return
        if by.role is Role.MEMBER and row.requested_by_user_id == by.user_id:
            return
        raise PermissionDenied(
            f"{by.user_name} may not decide approval {row.id}; ask an admin or the requester"
        )

    return check


def _is_dry_run(tool: Tool, arguments: BaseModel) -> bool:
    """A dry run sends nothing, so it needs no approval (a denied tool stays denied); it is still audited."""
    return DRY_RUN_TAG in tool.tags and getattr(arguments, "dry_run", False) is True


def _ghost(row: ToolApprovalRow) -> Tool:
    """A stand-in for a tool that has since been unregistered, so its approval can still be decided."""
    return Tool(
        name=row.tool,
        description="(no longer registered)",
        group=row.tool_group,
        effect=SideEffect(row.effect),
        function=lambda: None,
        arguments=BaseModel,
        input_schema={},
        is_async=False,
    )
