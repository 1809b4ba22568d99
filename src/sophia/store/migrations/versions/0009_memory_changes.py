"""Memory coherence across processes: a generation clock and the change log each write appends to.

Each process keeps an in-process vector index and recall cache; before a recall it compares its generation with
`memory_clock.generation` and re-reads only the memories the newer `memory_changes` rows name. The clock row also
holds the forgetting lease (`consolidated_at`), so one process per period runs consolidation.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    clock = op.create_table(
        "memory_clock",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.Column("pruned_through", sa.BigInteger(), nullable=False),
        sa.Column("consolidated_at", _AT, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_memory_clock")),
    )
    op.bulk_insert(clock, [{"id": 1, "generation": 0, "pruned_through": 0, "consolidated_at": None}])
    op.create_table(
        "memory_changes",
        sa.Column("generation", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("namespaces", _JSON, nullable=True),
        sa.Column("memory_ids", _JSON, nullable=True),
        sa.Column("changed_at", _AT, nullable=False),
        sa.PrimaryKeyConstraint("generation", name=op.f("pk_memory_changes")),
    )
    op.create_index("ix_memory_changes_changed_at", "memory_changes", ["changed_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_memory_changes_changed_at", table_name="memory_changes")
    op.drop_table("memory_changes")
    op.drop_table("memory_clock")
