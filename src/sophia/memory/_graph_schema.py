"""The temporal knowledge graph's tables: entities, the memories that mention them, and dated relationships.

Every row carries its namespace, so the graph is confined exactly like the memories it was read from; an edge
keeps the memory it came from and is closed (`valid_until`), never deleted, when a later memory contradicts it.
"""

from __future__ import annotations

import sqlalchemy as sa

from sophia.store import Base, UtcDateTime

memory_entities = sa.Table(
    "memory_entities",
    Base.metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("namespace", sa.String(160), nullable=False),
    sa.Column("key", sa.String(200), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("type", sa.String(24), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.UniqueConstraint("namespace", "key"),
)

memory_mentions = sa.Table(
    "memory_mentions",
    Base.metadata,
    sa.Column("memory_id", sa.String(32), primary_key=True),
    sa.Column("entity_id", sa.String(32), primary_key=True),
    sa.Column("namespace", sa.String(160), nullable=False),
    sa.Index("ix_memory_mentions_entity", "entity_id"),
)

memory_edges = sa.Table(
    "memory_edges",
    Base.metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("namespace", sa.String(160), nullable=False),
    sa.Column("subject_id", sa.String(32), nullable=False),
    sa.Column("relation", sa.String(40), nullable=False),
    sa.Column("object_id", sa.String(32), nullable=False),
    sa.Column("valid_from", UtcDateTime(), nullable=False),
    sa.Column("valid_until", UtcDateTime(), nullable=True),
    sa.Column("source_memory_id", sa.String(32), nullable=False),
    sa.Column("closed_by", sa.String(32), nullable=True),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Index("ix_memory_edges_subject", "subject_id", "relation"),
    sa.Index("ix_memory_edges_object", "object_id", "relation"),
    sa.Index("ix_memory_edges_source", "source_memory_id"),
)
