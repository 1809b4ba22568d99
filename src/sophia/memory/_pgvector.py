"""L2 vectors in PostgreSQL with pgvector: one table per dimension, created (with the extension) on `open()`.

The main migration chain never needs pgvector; the index creates what it needs when configured. Search is exact
cosine over the caller's namespaces (a b-tree on namespace narrows first), so a small namespace in a big store is
never starved the way HNSW post-filtering can be; pass `hnsw=True` for large single-namespace stores.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
import sqlalchemy as sa

from sophia.errors import StorageError
from sophia.memory._model import Scope
from sophia.memory._vector import F32, VectorEntry
from sophia.store import Database, storage_errors

_CHUNK = 500
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,40}$")


def vector_literal(vector: F32) -> str:
    return "[" + ",".join(f"{float(x):.7g}" for x in np.asarray(vector, dtype=np.float32)) + "]"


class PgVectorIndex:
    """`VectorIndex` over pgvector; `len()` is the count at `open()` adjusted by this process's writes."""

    def __init__(self, database: Database, dimensions: int, *, table: str = "memory_vectors") -> None:
        if not _NAME.match(table):
            raise StorageError(f"pgvector table name {table!r} must be lower-case letters, digits and _")
        self.database = database
        self.dimensions = dimensions
        self.table = f"{table}_{dimensions}"
        self._count = 0

    @classmethod
    async def open(
        cls, database: Database, dimensions: int, *, hnsw: bool = False, **options: Any
    ) -> PgVectorIndex:
        index = cls(database, dimensions, **options)
        await index.create(hnsw=hnsw)
        return index

    async def create(self, *, hnsw: bool = False) -> None:
        """Create the extension, table and indexes if missing; a server without pgvector gets a clear error."""
        with storage_errors(self.database.url):
            async with self.database.engine.begin() as conn:
                available = await conn.execute(
                    sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")
                )
                if available.first() is None:
                    raise StorageError(
                        "this PostgreSQL server has no pgvector extension; install pgvector or use the "
                        "embedded vector index"
                    )
                await conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS vector"))
                await conn.execute(
                    sa.text(
                        f"CREATE TABLE IF NOT EXISTS {self.table} (memory_id VARCHAR(32) PRIMARY KEY, "
                        "namespace VARCHAR(160) NOT NULL, kind VARCHAR(16) NOT NULL, "
                        "valid_from TIMESTAMPTZ NOT NULL, valid_until TIMESTAMPTZ, expires_at TIMESTAMPTZ, "
                        f"embedding vector({self.dimensions}) NOT NULL)"
                    )
                )
                await conn.execute(
                    sa.text(f"CREATE INDEX IF NOT EXISTS ix_{self.table}_ns ON {self.table} (namespace)")
                )
                if hnsw:
                    await conn.execute(
                        sa.text(
                            f"CREATE INDEX IF NOT EXISTS ix_{self.table}_hnsw ON {self.table} "
                            "USING hnsw (embedding vector_cosine_ops)"
                        )
                    )
                self._count = int(
                    (await conn.execute(sa.text(f"SELECT count(*) FROM {self.table}"))).scalar_one()
                )

    def __len__(self) -> int:
        return self._count

    async def add(self, entries: Sequence[VectorEntry]) -> None:
        if not entries:
            return
        with storage_errors(self.database.url):
            async with self.database.engine.begin() as conn:
                before = int((await conn.execute(sa.text(f"SELECT count(*) FROM {self.table}"))).scalar_one())
                for start in range(0, len(entries), _CHUNK):
                    await conn.execute(
                        sa.text(
                            f"INSERT INTO {self.table} (memory_id, namespace, kind, valid_from, valid_until, "
                            "expires_at, embedding) VALUES (:id, :ns, :kind, :vf, :vu, :ex, CAST(:vec AS vector)) "
                            "ON CONFLICT (memory_id) DO UPDATE SET namespace = EXCLUDED.namespace, "
                            "kind = EXCLUDED.kind, valid_from = EXCLUDED.valid_from, "
                            "valid_until = EXCLUDED.valid_until, expires_at = EXCLUDED.expires_at, "
                            "embedding = EXCLUDED.embedding"
                        ),
                        [_params(e, self.dimensions) for e in entries[start : start + _CHUNK]],
                    )
                after = int((await conn.execute(sa.text(f"SELECT count(*) FROM {self.table}"))).scalar_one())
        self._count += after - before

    async def close_validity(self, ids: Sequence[str], at: datetime) -> None:
        if ids:
            await self._execute(
                f"UPDATE {self.table} SET valid_until = :at WHERE memory_id = ANY(:ids)",
                {"at": at, "ids": list(ids)},
            )

    async def remove(self, ids: Sequence[str]) -> None:
        if ids:
            removed = await self._execute(
                f"DELETE FROM {self.table} WHERE memory_id = ANY(:ids)", {"ids": list(ids)}
            )
            self._count -= removed

    async def reset(self, entries: Sequence[VectorEntry]) -> None:
        await self._execute(f"DELETE FROM {self.table}", {})
        self._count = 0
        await self.add(entries)

    async def search(self, vector: F32, scope: Scope, limit: int) -> list[tuple[str, float]]:
        if limit <= 0:
            return []
        kinds = "" if scope.kinds is None else "AND kind = ANY(:kinds) "
        stmt = sa.text(
            f"SELECT memory_id, 1 - (embedding <=> CAST(:q AS vector)) AS score FROM {self.table} "
            "WHERE namespace = ANY(:ns) AND valid_from <= :m AND (valid_until IS NULL OR valid_until > :m) "
            f"AND (expires_at IS NULL OR expires_at > :now) {kinds}"
            "ORDER BY embedding <=> CAST(:q AS vector), memory_id LIMIT :limit"
        )
        params: dict[str, Any] = {
            "q": vector_literal(vector),
            "ns": list(scope.namespaces),
            "m": scope.moment,
            "now": scope.now,
            "limit": limit,
        }
        if scope.kinds is not None:
            params["kinds"] = [k.value for k in scope.kinds]
        with storage_errors(self.database.url):
            async with self.database.engine.connect() as conn:
                rows = (await conn.execute(stmt, params)).all()
        return [(row[0], float(row[1])) for row in rows]

    async def _execute(self, statement: str, params: dict[str, Any]) -> int:
        with storage_errors(self.database.url):
            async with self.database.engine.begin() as conn:
                result = await conn.execute(sa.text(statement), params)
        return int(result.rowcount or 0)


def _params(entry: VectorEntry, dimensions: int) -> dict[str, Any]:
    if entry.vector.shape != (dimensions,):
        raise ValueError(f"vector for {entry.id} has shape {entry.vector.shape}, index wants {dimensions}")
    return {
        "id": entry.id,
        "ns": entry.namespace,
        "kind": entry.kind.value,
        "vf": entry.valid_from,
        "vu": entry.valid_until,
        "ex": entry.expires_at,
        "vec": vector_literal(entry.vector),
    }
