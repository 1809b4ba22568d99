"""The audit log: who did what to which thing, and when. Rows are only ever added."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from sophia.store._base import Base, JsonType, UtcDateTime, utcnow

__all__ = ["AuditEntry", "AuditRow", "list_audit", "record_audit"]


class AuditRow(Base):
    __tablename__ = "audit_log"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    actor_user_id: Mapped[int | None] = mapped_column(sa.Integer)
    actor_key_id: Mapped[int | None] = mapped_column(sa.Integer)
    action: Mapped[str] = mapped_column(sa.String(64), index=True)
    target: Mapped[str] = mapped_column(sa.String(255))
    detail: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    actor_user_id: int | None
    actor_key_id: int | None
    action: str
    target: str
    detail: dict[str, Any]


def record_audit(
    session: AsyncSession,
    action: str,
    target: str,
    *,
    actor_user_id: int | None = None,
    actor_key_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Add an audit row to the caller's transaction, so the record and the change commit together.

    `detail` must never hold a secret value: it is stored in clear.
    """
    session.add(
        AuditRow(
            at=utcnow(),
            actor_user_id=actor_user_id,
            actor_key_id=actor_key_id,
            action=action,
            target=target,
            detail=detail or {},
        )
    )


async def list_audit(
    session: AsyncSession, *, action: str | None = None, limit: int = 100
) -> list[AuditEntry]:
    """Newest first."""
    query = sa.select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
    if action is not None:
        query = query.where(AuditRow.action == action)
    rows = (await session.scalars(query)).all()
    return [
        AuditEntry(r.id, r.at, r.actor_user_id, r.actor_key_id, r.action, r.target, dict(r.detail))
        for r in rows
    ]
