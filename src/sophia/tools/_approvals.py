"""Pending approvals: persisted requests a person approves or denies; an approved call runs exactly once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from sophia.store import Base, JsonType, UtcDateTime, utcnow

__all__ = ["ApprovalRecord", "ApprovalStatus", "ExecutionState", "ToolApprovalRow", "list_approvals"]

ApprovalStatus = str  # "pending" | "approved" | "denied"
ExecutionState = str  # "running" | "succeeded" | "failed"
STATUSES = ("pending", "approved", "denied")
EXECUTIONS = ("running", "succeeded", "failed")


class ToolApprovalRow(Base):
    __tablename__ = "tool_approvals"
    __table_args__ = (
        sa.CheckConstraint("status IN ('pending', 'approved', 'denied')", name="status"),
        sa.CheckConstraint("execution IN ('running', 'succeeded', 'failed')", name="execution"),
    )

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    tool: Mapped[str] = mapped_column(sa.String(64))
    tool_group: Mapped[str] = mapped_column(sa.String(40))
    effect: Mapped[str] = mapped_column(sa.String(16))
    arguments: Mapped[dict[str, Any]] = mapped_column(JsonType)
    sealed_arguments: Mapped[str] = mapped_column(sa.Text)
    context: Mapped[dict[str, Any]] = mapped_column(JsonType)
    requested_by_user_id: Mapped[int | None] = mapped_column(sa.Integer, index=True)
    run_id: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    agent: Mapped[str | None] = mapped_column(sa.String(120))
    status: Mapped[str] = mapped_column(sa.String(16), index=True)
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime)
    decided_by_user_id: Mapped[int | None] = mapped_column(sa.Integer)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    reason: Mapped[str | None] = mapped_column(sa.Text)
    execution: Mapped[str | None] = mapped_column(sa.String(16))
    executed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    result: Mapped[dict[str, Any] | None] = mapped_column(JsonType)


@dataclass(frozen=True, slots=True)
class ApprovalRecord:
    """A pending (or decided) tool call as people see it: arguments are the redacted copy."""

    id: str
    tool: str
    group: str
    effect: str
    arguments: dict[str, Any]
    requested_by_user_id: int | None
    run_id: str | None
    agent: str | None
    status: ApprovalStatus
    requested_at: datetime
    decided_by_user_id: int | None
    decided_at: datetime | None
    reason: str | None
    execution: ExecutionState | None
    executed_at: datetime | None
    resumed_by: str | None = None

    @classmethod
    def of(cls, row: ToolApprovalRow) -> ApprovalRecord:
        return cls(
            id=row.id,
            tool=row.tool,
            group=row.tool_group,
            effect=row.effect,
            arguments=dict(row.arguments),
            requested_by_user_id=row.requested_by_user_id,
            run_id=row.run_id,
            agent=row.agent,
            status=row.status,
            requested_at=row.requested_at,
            decided_by_user_id=row.decided_by_user_id,
            decided_at=row.decided_at,
            reason=row.reason,
            execution=row.execution,
            executed_at=row.executed_at,
            resumed_by=(row.context or {}).get("resumed_by"),
        )


async def list_approvals(
    session: AsyncSession,
    *,
    status: ApprovalStatus | None = None,
    run_id: str | None = None,
    user_id: int | None = None,
    limit: int = 100,
) -> list[ApprovalRecord]:
    """Newest first; filter by status, run or requesting user."""
    query = sa.select(ToolApprovalRow).order_by(ToolApprovalRow.requested_at.desc()).limit(limit)
    if status is not None:
        query = query.where(ToolApprovalRow.status == status)
    if run_id is not None:
        query = query.where(ToolApprovalRow.run_id == run_id)
    if user_id is not None:
        query = query.where(ToolApprovalRow.requested_by_user_id == user_id)
    return [ApprovalRecord.of(row) for row in (await session.scalars(query)).all()]


def new_row(**values: Any) -> ToolApprovalRow:
    return ToolApprovalRow(status="pending", requested_at=utcnow(), **values)
