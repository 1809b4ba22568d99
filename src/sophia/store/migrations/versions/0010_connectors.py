"""Connectors: the last check of each configured connector, and accepted inbound webhook events.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "connector_checks",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("checked_at", _AT, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_connector_checks")),
    )
    op.create_table(
        "connector_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("connector", sa.String(length=32), nullable=False),
        sa.Column("delivery_id", sa.String(length=120), nullable=False),
        sa.Column("type", sa.String(length=120), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("payload", _JSON, nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=True),
        sa.Column("received_at", _AT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connector_events")),
        sa.UniqueConstraint("connector", "delivery_id", name=op.f("uq_connector_events_connector")),
    )
    op.create_index("ix_connector_events_connector", "connector_events", ["connector"], unique=False)
    op.create_index("ix_connector_events_received_at", "connector_events", ["received_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_connector_events_received_at", table_name="connector_events")
    op.drop_index("ix_connector_events_connector", table_name="connector_events")
    op.drop_table("connector_events")
    op.drop_table("connector_checks")
