"""The delivered reports (migration 0016): one row per (report, period), which is also the schedule's claim."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from sophia.store import Base, JsonType, UtcDateTime

__all__ = ["BiReportRow"]


class BiReportRow(Base):
    """A report of one period: rendered once (text, Vega-Lite spec, PNG), then delivered to each destination.

    The unique (name, period) is the claim: of every process ticking, the one whose insert succeeds renders it."""

    __tablename__ = "bi_reports"
    __table_args__ = (sa.UniqueConstraint("name", "period"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(sa.String(64), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    period: Mapped[datetime] = mapped_column(UtcDateTime)
    """The start of the period (a scheduled report) or the moment of a run on demand."""
    trigger: Mapped[str] = mapped_column(sa.String(16))
    """schedule, or manual (`sophia bi report`, POST /v1/bi/reports/NAME/run)."""
    status: Mapped[str] = mapped_column(sa.String(16))
    """rendering, delivering, delivered, failed (retried next tick) or kept (not to be delivered)."""
    text: Mapped[str | None] = mapped_column(sa.Text)
    spec: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    png: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    deliver: Mapped[list[str]] = mapped_column(JsonType)
    """The destinations it is meant for."""
    delivered_to: Mapped[list[str]] = mapped_column(JsonType)
    """The destinations it has reached (a retry skips them)."""
    error: Mapped[str | None] = mapped_column(sa.Text)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    claimed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    """When a process last took it (rendering or delivering); a claim older than the lease may be taken over."""
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
