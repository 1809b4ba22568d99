"""Sync: each connector stream's cursor, counts and last error, and each synced record's current memory.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sync_streams",
        sa.Column("connector", sa.String(length=32), nullable=False),
        sa.Column("stream", sa.String(length=64), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=True),
        sa.Column("run_since", _AT, nullable=True),
        sa.Column("high_water", _AT, nullable=True),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("written", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.Column("last_run_at", _AT, nullable=True),
        sa.Column("last_success_at", _AT, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", _AT, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("connector", "stream", name=op.f("pk_sync_streams")),
    )
    op.create_table(
        "sync_records",
        sa.Column("connector", sa.String(length=32), nullable=False),
        sa.Column("stream", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.String(length=200), nullable=False),
        sa.Column("updated_at", _AT, nullable=False),
        sa.Column("memory_id", sa.String(length=32), nullable=False),
        sa.Column("business_kinds", sa.String(length=200), nullable=False),
        sa.Column("deleted_at", _AT, nullable=True),
        sa.PrimaryKeyConstraint("connector", "stream", "record_id", name=op.f("pk_sync_records")),
    )
    op.create_table(
        "sync_clock",
        sa.Column("connector", sa.String(length=32), nullable=False),
        sa.Column("claimed_at", _AT, nullable=False),
        sa.PrimaryKeyConstraint("connector", name=op.f("pk_sync_clock")),
    )


def downgrade() -> None:
    op.drop_table("sync_clock")
    op.drop_table("sync_records")
    op.drop_table("sync_streams")
