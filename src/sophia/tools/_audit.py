"""Tool calls in the shared audit log (`audit_log`): action `tool.*`, target the tool, the rest in `detail`.

One audit table for the whole app keeps one place to look; run id, agent and before/after live in `detail`
and are queried with a JSON path (indexed columns can be added to `audit_log` if runs need them at scale).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from sophia.store import AuditEntry, AuditRow, record_audit
from sophia.tools._model import Tool, ToolContext

__all__ = ["TOOL_AUDIT_ACTIONS", "list_tool_audit", "record_tool_audit"]

TOOL_AUDIT_ACTIONS = (
    "tool.call",
    "tool.denied",
    "tool.approval_requested",
    "tool.approval_approved",
    "tool.approval_denied",
)


def record_tool_audit(
    session: AsyncSession, action: str, tool: Tool, context: ToolContext, detail: dict[str, Any]
) -> None:
    """`detail` must already be redacted; who/run/agent/tool facts are added here."""
    record_audit(
        session,
        action,
        tool.name,
        actor_user_id=context.user_id,
        actor_key_id=context.key_id,
        detail={
            "run_id": context.run_id,
            "agent": context.agent,
            "role": context.role.value,
            "group": tool.group,
            "effect": tool.effect.value,
            **detail,
        },
    )


async def list_tool_audit(
    session: AsyncSession,
    *,
    run_id: str | None = None,
    tool: str | None = None,
    tool_prefix: str | None = None,
    limit: int = 100,
) -> list[AuditEntry]:
    """Tool audit entries, newest first, for one run and/or one tool (or every tool under `tool_prefix`)."""
    query = (
        sa.select(AuditRow)
        .where(AuditRow.action.in_(TOOL_AUDIT_ACTIONS))
        .order_by(AuditRow.id.desc())
        .limit(limit)
    )
    if run_id is not None:
        query = query.where(AuditRow.detail["run_id"].as_string() == run_id)
    if tool is not None:
        query = query.where(AuditRow.target == tool)
    if tool_prefix is not None:
        escaped = tool_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(AuditRow.target.like(f"{escaped}%", escape="\\"))
    rows = (await session.scalars(query)).all()
    return [
        AuditEntry(r.id, r.at, r.actor_user_id, r.actor_key_id, r.action, r.target, dict(r.detail))
        for r in rows
    ]
