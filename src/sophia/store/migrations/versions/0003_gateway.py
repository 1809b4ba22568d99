"""Gateway tables: usage ledger (requests and attempts), budgets, persisted deployment health.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_AT = sa.DateTime(timezone=True)
_MONEY = sa.Numeric(20, 10, asdecimal=False)
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "usage_requests",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("at", _AT, nullable=False),
        sa.Column("api_key_id", sa.String(64), nullable=True),
        sa.Column("user_id", sa.String(64), nullable=True),
        sa.Column("endpoint", sa.String(32), nullable=False),
        sa.Column("task", sa.String(32), nullable=True),
        sa.Column("requested_model", sa.String(200), nullable=False),
        sa.Column("model", sa.String(200), nullable=True),
        sa.Column("provider", sa.String(100), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("fallbacks", sa.Integer(), nullable=False),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column("cost_usd", _MONEY, nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("ttft_ms", sa.Float(), nullable=True),
        sa.Column("stream", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_requests")),
    )
    for column in ("at", "api_key_id", "user_id", "model", "status"):
        op.create_index(op.f(f"ix_usage_requests_{column}"), "usage_requests", [column])
    op.create_table(
        "usage_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("at", _AT, nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("provider", sa.String(100), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column("cost_usd", _MONEY, nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("ttft_ms", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_attempts")),
    )
    op.create_index(op.f("ix_usage_attempts_request_id"), "usage_attempts", ["request_id"])
    op.create_table(
        "budgets",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("scope_id", sa.String(64), nullable=False),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("limit_usd", _MONEY, nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_budgets")),
        sa.UniqueConstraint("scope", "scope_id", "period", name=op.f("uq_budgets_scope")),
        sa.CheckConstraint("scope IN ('global', 'user', 'key')", name=op.f("ck_budgets_scope")),
        sa.CheckConstraint("period IN ('daily', 'monthly')", name=op.f("ck_budgets_period")),
    )
    op.create_table(
        "deployment_health",
        sa.Column("deployment", sa.String(200), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("ttft_ms", sa.Float(), nullable=True),
        sa.Column("error_rate", sa.Float(), nullable=False),
        sa.Column("cost_usd", sa.Float(), nullable=True),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("extra", _JSON, nullable=True),
        sa.PrimaryKeyConstraint("deployment", name=op.f("pk_deployment_health")),
    )


def downgrade() -> None:
    op.drop_table("deployment_health")
    op.drop_table("budgets")
    op.drop_index(op.f("ix_usage_attempts_request_id"), table_name="usage_attempts")
    op.drop_table("usage_attempts")
    for column in ("at", "api_key_id", "user_id", "model", "status"):
        op.drop_index(op.f(f"ix_usage_requests_{column}"), table_name="usage_requests")
    op.drop_table("usage_requests")
