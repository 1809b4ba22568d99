"""The runs tables: a run, its steps (also the idempotency ledger of side-effecting steps), worker heartbeats."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from sophia.store import Base, JsonType, UtcDateTime

__all__ = ["RUN_STATUSES", "TERMINAL_STATUSES", "RunRow", "RunStepRow", "RunWorkerRow"]

_MONEY = sa.Numeric(20, 10, asdecimal=False)
RUN_STATUSES = ("queued", "running", "waiting_approval", "succeeded", "failed", "cancelled")
TERMINAL_STATUSES = ("succeeded", "failed", "cancelled")


class RunRow(Base):
    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(sa.Integer, index=True)
    agent: Mapped[str] = mapped_column(sa.String(40))
    task: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(24), index=True)
    output: Mapped[str | None] = mapped_column(sa.Text)
    error: Mapped[str | None] = mapped_column(sa.Text)
    cost_usd: Mapped[float] = mapped_column(_MONEY)
    steps: Mapped[int] = mapped_column(sa.Integer)
    limits: Mapped[dict[str, Any]] = mapped_column(JsonType)
    context: Mapped[dict[str, Any]] = mapped_column(JsonType)
    executor_id: Mapped[str | None] = mapped_column(sa.String(120))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class RunStepRow(Base):
    __tablename__ = "run_steps"

    run_id: Mapped[str] = mapped_column(
        sa.String(64), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    agent: Mapped[str | None] = mapped_column(sa.String(120))
    status: Mapped[str] = mapped_column(sa.String(24))
    model: Mapped[str | None] = mapped_column(sa.String(200))
    input_tokens: Mapped[int] = mapped_column(sa.Integer)
    output_tokens: Mapped[int] = mapped_column(sa.Integer)
    cost_usd: Mapped[float] = mapped_column(_MONEY)
    detail: Mapped[dict[str, Any]] = mapped_column(JsonType)
    error: Mapped[str | None] = mapped_column(sa.Text)
    output: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class RunWorkerRow(Base):
    __tablename__ = "run_workers"

    executor_id: Mapped[str] = mapped_column(sa.String(120), primary_key=True)
    host: Mapped[str] = mapped_column(sa.String(255))
    pid: Mapped[int] = mapped_column(sa.Integer)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(UtcDateTime)
