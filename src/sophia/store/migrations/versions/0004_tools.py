"""Tool approvals: pending calls a person approves or denies, with the sealed arguments and the one result.

Tool calls themselves are audited in the existing `audit_log` table (action `tool.*`).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_AT = sa.DateTime(timezone=True)
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_INDEXED = ("requested_by_user_id", "run_id", "status")


def upgrade() -> None:
    op.create_table(
        "tool_approvals",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("tool", sa.String(64), nullable=False),
        sa.Column("tool_group", sa.String(40), nullable=False),
        sa.Column("effect", sa.String(16), nullable=False),
        sa.Column("arguments", _JSON, nullable=False),
        sa.Column("sealed_arguments", sa.Text(), nullable=False),
        sa.Column("context", _JSON, nullable=False),
        sa.Column("requested_by_user_id", sa.Integer(), nullable=True),
        sa.Column("run_id", sa.String(64), nullable=True),
        sa.Column("agent", sa.String(120), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("requested_at", _AT, nullable=False),
        sa.Column("decided_by_user_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", _AT, nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("execution", sa.String(16), nullable=True),
        sa.Column("executed_at", _AT, nullable=True),
        sa.Column("result", _JSON, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tool_approvals")),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'denied')", name=op.f("ck_tool_approvals_status")
        ),
        sa.CheckConstraint(
            "execution IN ('running', 'succeeded', 'failed')", name=op.f("ck_tool_approvals_execution")
        ),
    )
    for column in _INDEXED:
        op.create_index(op.f(f"ix_tool_approvals_{column}"), "tool_approvals", [column])


def downgrade() -> None:
    for column in _INDEXED:
        op.drop_index(op.f(f"ix_tool_approvals_{column}"), table_name="tool_approvals")
    op.drop_table("tool_approvals")
