"""BI reports: each scheduled or on-demand report rendered (text, Vega-Lite spec, PNG) and where it was delivered.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_AT = sa.DateTime(timezone=True)
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "bi_reports",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("period", _AT, nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("spec", _JSON, nullable=True),
        sa.Column("png", sa.LargeBinary(), nullable=True),
        sa.Column("deliver", _JSON, nullable=False),
        sa.Column("delivered_to", _JSON, nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("claimed_at", _AT, nullable=False),
        sa.Column("delivered_at", _AT, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bi_reports")),
        sa.UniqueConstraint("name", "period", name=op.f("uq_bi_reports_name")),
    )
    op.create_index("ix_bi_reports_name", "bi_reports", ["name"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_bi_reports_name", table_name="bi_reports")
    op.drop_table("bi_reports")
