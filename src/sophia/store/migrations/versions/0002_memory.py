"""Memory: the `memories` table (L3, source of truth) and its full-text index.

SQLite gets an FTS5 virtual table `memory_fts` (porter stemming, BM25); PostgreSQL gets a side table `memory_tsv`
(tsvector + GIN index). Both are derived data kept outside the ORM models: `MemoryService.reindex()` rebuilds them.

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "memories",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("namespace", sa.String(160), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("metadata", _JSON, nullable=False),
        sa.Column("importance", sa.Float(), nullable=False),
        sa.Column("source", sa.String(200), nullable=True),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("valid_from", _AT, nullable=False),
        sa.Column("valid_until", _AT, nullable=True),
        sa.Column("expires_at", _AT, nullable=True),
        sa.Column("supersedes", sa.String(32), nullable=True),
        sa.Column("embedding_model", sa.String(160), nullable=False),
        sa.Column("embedding", sa.LargeBinary(), nullable=True),
        sa.Column("access_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_accessed_at", _AT, nullable=True),
        sa.Column("speaker", sa.String(120), nullable=True),
        sa.Column("session_id", sa.String(120), nullable=True),
        sa.Column("occurred_at", _AT, nullable=True),
        sa.Column("turn_index", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_memories")),
    )
    op.create_index("ix_memories_namespace_kind", "memories", ["namespace", "kind"], unique=False)
    op.create_index(
        "ix_memories_session", "memories", ["namespace", "session_id", "turn_index"], unique=False
    )
    op.create_index("ix_memories_supersedes", "memories", ["supersedes"], unique=False)
    op.create_index("ix_memories_expires_at", "memories", ["expires_at"], unique=False)
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE memory_fts USING fts5("
            "text, scope, memory_id UNINDEXED, tokenize = 'porter unicode61 remove_diacritics 2')"
        )
    elif dialect == "postgresql":
        op.execute(
            "CREATE TABLE memory_tsv ("
            "memory_id VARCHAR(32) PRIMARY KEY REFERENCES memories (id) ON DELETE CASCADE, "
            "search_tsv tsvector NOT NULL)"
        )
        op.execute("CREATE INDEX ix_memory_tsv_search_tsv ON memory_tsv USING gin (search_tsv)")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TABLE IF EXISTS memory_fts")
    elif dialect == "postgresql":
        op.execute("DROP TABLE IF EXISTS memory_tsv")
    op.drop_index("ix_memories_expires_at", table_name="memories")
    op.drop_index("ix_memories_supersedes", table_name="memories")
    op.drop_index("ix_memories_session", table_name="memories")
    op.drop_index("ix_memories_namespace_kind", table_name="memories")
    op.drop_table("memories")
