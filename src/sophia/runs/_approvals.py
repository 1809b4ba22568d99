"""`ApprovalDesk`: list, approve and deny held tool calls, wherever they were held, and carry each one on.

A call held inside a run is carried on by its run (woken here); one held by a live chat turn by that turn (the
`waiters` callback wakes it in this process, and it also polls); any other held call (MCP, `sophia mcp call`)
has nobody waiting, so approving it runs it here, exactly once, and the approver sees the result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sophia.accounts import Principal, Role
from sophia.runs._service import RunService
from sophia.tools import ApprovalRecord, ToolCallResult, ToolError

__all__ = ["ApprovalDesk", "Decided"]


@dataclass(frozen=True, slots=True)
class Decided:
    approval: ApprovalRecord
    result: ToolCallResult | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "id": self.approval.id,
            "tool": self.approval.tool,
            "status": self.approval.status,
        }
        if self.result is not None:
            found |= {"execution": "succeeded", "output": self.result.output}
        elif self.error is not None:
            found |= {"execution": "failed", "error": self.error}
        elif self.approval.run_id is not None:
            found["run_id"] = self.approval.run_id
        return found


class ApprovalDesk:
    def __init__(self, runs: RunService, *, waiters: Callable[[str], None] | None = None) -> None:
        self.runs = runs
        self.invoker = runs.invoker
        self.waiters = waiters

    async def list(self, principal: Principal, *, status: str | None = "pending") -> list[ApprovalRecord]:
        """Admins see every request; members their own; nobody else any."""
        if principal.role is Role.ADMIN:
            return await self.invoker.approvals(status=status)
        if principal.role is Role.MEMBER:
            return await self.invoker.approvals(status=status, user_id=principal.user_id)
        return []

    async def get(self, principal: Principal, approval_id: str) -> ApprovalRecord:
        from sophia.tools import ApprovalNotFound

        record = await self.invoker.approval(approval_id)
        if principal.role is not Role.ADMIN and record.requested_by_user_id != principal.user_id:
            raise ApprovalNotFound(f"there is no tool approval {approval_id[:40]!r} you can see")
        return record

    async def approve(self, principal: Principal, approval_id: str, reason: str | None = None) -> Decided:
        await self.get(principal, approval_id)
        record = await self.runs.approve(principal, approval_id, reason)
        if record.run_id is not None:
            return Decided(record)
        if record.resumed_by is not None:
            self._wake(record.id)
            return Decided(record)
        try:
            result = await self.invoker.invoke_approved(record.id)
        except ToolError as error:
            return Decided(await self.invoker.approval(record.id), error=error.message)
        return Decided(await self.invoker.approval(record.id), result)

    async def deny(self, principal: Principal, approval_id: str, reason: str | None = None) -> Decided:
        await self.get(principal, approval_id)
        record = await self.runs.deny(principal, approval_id, reason)
        self._wake(record.id)
        return Decided(record)

    def _wake(self, approval_id: str) -> None:
        if self.waiters is not None:
            self.waiters(approval_id)
