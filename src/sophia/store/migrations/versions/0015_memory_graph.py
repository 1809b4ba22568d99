"""Memory graph: entities, the memories that mention them, and relationships valid from/until a moment.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "memory_entities",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("namespace", sa.String(160), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("type", sa.String(24), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_memory_entities")),
        sa.UniqueConstraint("namespace", "key", name=op.f("uq_memory_entities_namespace")),
    )
    op.create_table(
        "memory_mentions",
        sa.Column("memory_id", sa.String(32), nullable=False),
        sa.Column("entity_id", sa.String(32), nullable=False),
        sa.Column("namespace", sa.String(160), nullable=False),
        sa.PrimaryKeyConstraint("memory_id", "entity_id", name=op.f("pk_memory_mentions")),
    )
    op.create_index("ix_memory_mentions_entity", "memory_mentions", ["entity_id"], unique=False)
    op.create_table(
        "memory_edges",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("namespace", sa.String(160), nullable=False),
        sa.Column("subject_id", sa.String(32), nullable=False),
        sa.Column("relation", sa.String(40), nullable=False),
        sa.Column("object_id", sa.String(32), nullable=False),
        sa.Column("valid_from", _AT, nullable=False),
        sa.Column("valid_until", _AT, nullable=True),
        sa.Column("source_memory_id", sa.String(32), nullable=False),
        sa.Column("closed_by", sa.String(32), nullable=True),
        sa.Column("created_at", _AT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_memory_edges")),
    )
    op.create_index("ix_memory_edges_subject", "memory_edges", ["subject_id", "relation"], unique=False)
    op.create_index("ix_memory_edges_object", "memory_edges", ["object_id", "relation"], unique=False)
    op.create_index("ix_memory_edges_source", "memory_edges", ["source_memory_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_memory_edges_source", table_name="memory_edges")
    op.drop_index("ix_memory_edges_object", table_name="memory_edges")
    op.drop_index("ix_memory_edges_subject", table_name="memory_edges")
    op.drop_table("memory_edges")
    op.drop_index("ix_memory_mentions_entity", table_name="memory_mentions")
    op.drop_table("memory_mentions")
    op.drop_table("memory_entities")
