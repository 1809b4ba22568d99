"""The memory tables (L3, the source of truth) and row <-> `Memory` conversion.

Vectors are stored in the row too (float32 bytes), so the in-process index can always be rebuilt or repaired
from SQL without re-running the embedding model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from sophia.memory._model import Memory, MemoryKind, Scope
from sophia.store import Base, JsonType, UtcDateTime

FTS_TABLE = "memory_fts"
FTS_TOKENIZER = "porter unicode61 remove_diacritics 2"

memories = sa.Table(
    "memories",
    Base.metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("namespace", sa.String(160), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("content", sa.Text(), nullable=False),
    sa.Column("search_text", sa.Text(), nullable=False),
    sa.Column("metadata", JsonType, nullable=False),
    sa.Column("importance", sa.Float(), nullable=False),
    sa.Column("source", sa.String(200), nullable=True),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("valid_from", UtcDateTime(), nullable=False),
    sa.Column("valid_until", UtcDateTime(), nullable=True),
    sa.Column("expires_at", UtcDateTime(), nullable=True),
    sa.Column("supersedes", sa.String(32), nullable=True),
    sa.Column("embedding_model", sa.String(160), nullable=False),
    sa.Column("embedding", sa.LargeBinary(), nullable=True),
    sa.Column("access_count", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("last_accessed_at", UtcDateTime(), nullable=True),
    sa.Column("speaker", sa.String(120), nullable=True),
    sa.Column("session_id", sa.String(120), nullable=True),
    sa.Column("occurred_at", UtcDateTime(), nullable=True),
    sa.Column("turn_index", sa.Integer(), nullable=True),
    sa.Index("ix_memories_namespace_kind", "namespace", "kind"),
    sa.Index("ix_memories_session", "namespace", "session_id", "turn_index"),
    sa.Index("ix_memories_supersedes", "supersedes"),
    sa.Index("ix_memories_expires_at", "expires_at"),
)

memory_clock = sa.Table(
    "memory_clock",
    Base.metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("generation", sa.BigInteger(), nullable=False),
    sa.Column("pruned_through", sa.BigInteger(), nullable=False),
    sa.Column("consolidated_at", UtcDateTime(), nullable=True),
)
"""One row: the generation every memory write moves on (processes compare it with theirs) and the forgetting lease."""

memory_changes = sa.Table(
    "memory_changes",
    Base.metadata,
    sa.Column("generation", sa.BigInteger(), primary_key=True, autoincrement=False),
    sa.Column("namespaces", JsonType, nullable=True),
    sa.Column("memory_ids", JsonType, nullable=True),
    sa.Column("changed_at", UtcDateTime(), nullable=False),
    sa.Index("ix_memory_changes_changed_at", "changed_at"),
)
"""What each generation touched (null: everything), so another process updates only those entries."""

# Everything but the vector blob: what recall and listing read.
MEMORY_COLUMNS = [c for c in memories.c if c.name not in ("embedding", "search_text")]


def row_to_memory(row: Mapping[str, Any] | sa.RowMapping) -> Memory:
    return Memory(
        id=row["id"],
        namespace=row["namespace"],
        kind=MemoryKind(row["kind"]),
        content=row["content"],
        metadata=dict(row["metadata"] or {}),
        importance=float(row["importance"]),
        source=row["source"],
        created_at=row["created_at"],
        valid_from=row["valid_from"],
        valid_until=row["valid_until"],
        expires_at=row["expires_at"],
        supersedes=row["supersedes"],
        embedding_model=row["embedding_model"],
        access_count=int(row["access_count"] or 0),
        last_accessed_at=row["last_accessed_at"],
        speaker=row["speaker"],
        session_id=row["session_id"],
        occurred_at=row["occurred_at"],
        turn_index=row["turn_index"],
    )


def memory_to_row(memory: Memory, search_text: str, vector: npt.NDArray[np.float32]) -> dict[str, Any]:
    return {
        "id": memory.id,
        "namespace": memory.namespace,
        "kind": memory.kind.value,
        "content": memory.content,
        "search_text": search_text,
        "metadata": dict(memory.metadata),
        "importance": memory.importance,
        "source": memory.source,
        "created_at": memory.created_at,
        "valid_from": memory.valid_from,
        "valid_until": memory.valid_until,
        "expires_at": memory.expires_at,
        "supersedes": memory.supersedes,
        "embedding_model": memory.embedding_model,
        "embedding": vector_bytes(vector),
        "access_count": memory.access_count,
        "last_accessed_at": memory.last_accessed_at,
        "speaker": memory.speaker,
        "session_id": memory.session_id,
        "occurred_at": memory.occurred_at,
        "turn_index": memory.turn_index,
    }


def vector_bytes(vector: npt.NDArray[np.float32]) -> bytes:
    return np.ascontiguousarray(vector, dtype="<f4").tobytes()


def vector_from_bytes(blob: bytes) -> npt.NDArray[np.float32]:
    return np.frombuffer(blob, dtype="<f4").astype(np.float32)


def search_text_of(memory: Memory) -> str:
    """What the keyword index sees: the speaker's name belongs to the turn as much as its words do."""
    return f"{memory.speaker}: {memory.content}" if memory.speaker else memory.content


def scope_clause(scope: Scope) -> sa.ColumnElement[bool]:
    """The SQL twin of the vector index's scope mask: namespaces, kinds, validity at the moment, TTL."""
    moment = scope.moment
    clauses = [
        memories.c.namespace.in_(scope.namespaces),
        memories.c.valid_from <= moment,
        sa.or_(memories.c.valid_until.is_(None), memories.c.valid_until > moment),
        sa.or_(memories.c.expires_at.is_(None), memories.c.expires_at > scope.now),
    ]
    if scope.kinds is not None:
        clauses.append(memories.c.kind.in_([k.value for k in scope.kinds]))
    return sa.and_(*clauses)


CHUNK = 500
"""Ids per `IN (...)` list: well under SQLite's parameter limit, few round trips on PostgreSQL."""


async def delete_in(conn: AsyncConnection, table: sa.TableClause, column: str, ids: Sequence[str]) -> None:
    """Delete the rows of `table` whose `column` is one of `ids`, `CHUNK` ids per statement."""
    for start in range(0, len(ids), CHUNK):
        await conn.execute(sa.delete(table).where(table.c[column].in_(ids[start : start + CHUNK])))
