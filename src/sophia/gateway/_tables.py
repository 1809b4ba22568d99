"""The gateway's tables: the usage ledger, budgets, persisted health, the response cache, outcomes, experiments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from sophia.store import Base, JsonType, UtcDateTime

MONEY = sa.Numeric(20, 10, asdecimal=False)


class UsageRequestRow(Base):
    __tablename__ = "usage_requests"

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    api_key_id: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    user_id: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    endpoint: Mapped[str] = mapped_column(sa.String(32))
    task: Mapped[str | None] = mapped_column(sa.String(32))
    requested_model: Mapped[str] = mapped_column(sa.String(200))
    model: Mapped[str | None] = mapped_column(sa.String(200))
    provider: Mapped[str | None] = mapped_column(sa.String(100))
    attempts: Mapped[int] = mapped_column(sa.Integer)
    fallbacks: Mapped[int] = mapped_column(sa.Integer)
    input_tokens: Mapped[int] = mapped_column(sa.Integer)
    output_tokens: Mapped[int] = mapped_column(sa.Integer)
    cost_usd: Mapped[float] = mapped_column(MONEY)
    latency_ms: Mapped[float] = mapped_column(sa.Float)
    ttft_ms: Mapped[float | None] = mapped_column(sa.Float)
    stream: Mapped[bool] = mapped_column(sa.Boolean)
    status: Mapped[str] = mapped_column(sa.String(32))
    error_code: Mapped[str | None] = mapped_column(sa.String(64))
    cache_hit: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())
    saved_usd: Mapped[float] = mapped_column(MONEY, server_default="0")
    variant: Mapped[str | None] = mapped_column(sa.String(120))


class UsageAttemptRow(Base):
    __tablename__ = "usage_attempts"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    number: Mapped[int] = mapped_column(sa.Integer)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    model: Mapped[str] = mapped_column(sa.String(200))
    provider: Mapped[str] = mapped_column(sa.String(100))
    status: Mapped[str] = mapped_column(sa.String(32))
    http_status: Mapped[int | None] = mapped_column(sa.Integer)
    error_code: Mapped[str | None] = mapped_column(sa.String(64))
    input_tokens: Mapped[int] = mapped_column(sa.Integer)
    output_tokens: Mapped[int] = mapped_column(sa.Integer)
    cost_usd: Mapped[float] = mapped_column(MONEY)
    latency_ms: Mapped[float] = mapped_column(sa.Float)
    ttft_ms: Mapped[float | None] = mapped_column(sa.Float)


class BudgetRow(Base):
    __tablename__ = "budgets"
    __table_args__ = (sa.UniqueConstraint("scope", "scope_id", "period"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(sa.String(16))
    scope_id: Mapped[str] = mapped_column(sa.String(64))
    period: Mapped[str] = mapped_column(sa.String(16))
    limit_usd: Mapped[float] = mapped_column(MONEY)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class DeploymentHealthRow(Base):
    __tablename__ = "deployment_health"

    deployment: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    latency_ms: Mapped[float | None] = mapped_column(sa.Float)
    ttft_ms: Mapped[float | None] = mapped_column(sa.Float)
    error_rate: Mapped[float] = mapped_column(sa.Float)
    cost_usd: Mapped[float | None] = mapped_column(sa.Float)
    requests: Mapped[int] = mapped_column(sa.Integer)
    failures: Mapped[int] = mapped_column(sa.Integer)
    updated_at: Mapped[float] = mapped_column(sa.Float)
    extra: Mapped[dict[str, Any] | None] = mapped_column(JsonType)


class ResponseCacheRow(Base):
    """One cached answer; `key` hashes the tenant with the normalised request, `tenant` is checked again on read."""

    __tablename__ = "response_cache"

    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    tenant: Mapped[str] = mapped_column(sa.String(140))
    stream: Mapped[bool] = mapped_column(sa.Boolean)
    body: Mapped[bytes] = mapped_column(sa.LargeBinary)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class ModelOutcomeRow(Base):
    """One piece of evidence about a model on a task: feedback, a run's outcome or a judge's score, in [0, 1]."""

    __tablename__ = "model_outcomes"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    request_id: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    task: Mapped[str] = mapped_column(sa.String(32))
    model: Mapped[str] = mapped_column(sa.String(200))
    score: Mapped[float] = mapped_column(sa.Float)
    source: Mapped[str] = mapped_column(sa.String(32))
    user_id: Mapped[str | None] = mapped_column(sa.String(64))


class ExperimentRow(Base):
    __tablename__ = "experiments"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    task: Mapped[str] = mapped_column(sa.String(32))
    variants: Mapped[dict[str, Any]] = mapped_column(JsonType)
    share: Mapped[float] = mapped_column(sa.Float)
    alpha: Mapped[float] = mapped_column(sa.Float)
    max_samples: Mapped[int] = mapped_column(sa.Integer)
    status: Mapped[str] = mapped_column(sa.String(16))
    winner: Mapped[str | None] = mapped_column(sa.String(64))
    evidence: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
