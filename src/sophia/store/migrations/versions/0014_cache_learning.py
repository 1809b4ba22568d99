"""Gateway, second step: the response cache, model outcomes (routing that learns), experiments; ledger columns.

`usage_requests` gains `cache_hit` and `saved_usd` (a hit costs nothing and records what it saved) and `variant`
(which experiment arm served the request).

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_AT = sa.DateTime(timezone=True)
_MONEY = sa.Numeric(20, 10, asdecimal=False)
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("usage_requests") as batch:
        batch.add_column(sa.Column("cache_hit", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column("saved_usd", _MONEY, server_default="0", nullable=False))
        batch.add_column(sa.Column("variant", sa.String(120), nullable=True))
    op.create_table(
        "response_cache",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("tenant", sa.String(140), nullable=False),
        sa.Column("stream", sa.Boolean(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("expires_at", _AT, nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_response_cache")),
    )
    op.create_index(op.f("ix_response_cache_expires_at"), "response_cache", ["expires_at"])
    op.create_table(
        "model_outcomes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", _AT, nullable=False),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.Column("task", sa.String(32), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_outcomes")),
    )
    op.create_index(op.f("ix_model_outcomes_request_id"), "model_outcomes", ["request_id"])
    op.create_table(
        "experiments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("task", sa.String(32), nullable=False),
        sa.Column("variants", _JSON, nullable=False),
        sa.Column("share", sa.Float(), nullable=False),
        sa.Column("alpha", sa.Float(), nullable=False),
        sa.Column("max_samples", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("winner", sa.String(64), nullable=True),
        sa.Column("evidence", _JSON, nullable=True),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("decided_at", _AT, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experiments")),
        sa.UniqueConstraint("name", name=op.f("uq_experiments_name")),
    )


def downgrade() -> None:
    op.drop_table("experiments")
    op.drop_index(op.f("ix_model_outcomes_request_id"), table_name="model_outcomes")
    op.drop_table("model_outcomes")
    op.drop_index(op.f("ix_response_cache_expires_at"), table_name="response_cache")
    op.drop_table("response_cache")
    with op.batch_alter_table("usage_requests") as batch:
        batch.drop_column("variant")
        batch.drop_column("saved_usd")
        batch.drop_column("cache_hit")
