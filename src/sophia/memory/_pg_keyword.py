"""L2 keyword index on PostgreSQL: `memory_tsv` (tsvector + GIN, migration 0002) ranked with `ts_rank_cd`.

Each tsvector carries one opaque namespace lexeme, so the GIN match itself narrows to the caller's namespaces
(the join on `memories` with the scope clause stays as the authorisation backstop).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from sophia.memory._keyword import query_terms
from sophia.memory._model import Scope
from sophia.memory._schema import CHUNK, delete_in, memories, scope_clause

_CONFIG = "english"
# The namespace lexeme: computed in SQL on write and in Python on search, so both must stay md5-based.
_TSV_OF = "to_tsvector('english', m.search_text) || array_to_tsvector(ARRAY['ns' || substr(md5(m.namespace), 1, 20)])"
_tsv = sa.table("memory_tsv", sa.column("memory_id", sa.String()), sa.column("search_tsv"))


def pg_scope_token(namespace: str) -> str:
    return "ns" + hashlib.md5(namespace.encode(), usedforsecurity=False).hexdigest()[:20]


def websearch_text(query: str) -> str | None:
    """Content words joined by `or`: websearch syntax gives OR semantics and treats user text as inert."""
    terms = query_terms(query)
    return " or ".join(terms) if terms else None


class PostgresKeywordIndex:
    """Full text on PostgreSQL; rows are indexed from `memories` in the writer's transaction."""

    async def add(self, conn: AsyncConnection, entries: Sequence[tuple[str, str, str]]) -> None:
        """Index rows already inserted in this transaction (text and namespace are read back from them)."""
        ids = [memory_id for memory_id, _, _ in entries]
        for start in range(0, len(ids), CHUNK):
            await conn.execute(
                sa.text(
                    f"INSERT INTO memory_tsv (memory_id, search_tsv) SELECT m.id, {_TSV_OF} FROM memories m "
                    "WHERE m.id = ANY(:ids) ON CONFLICT (memory_id) DO UPDATE SET search_tsv = EXCLUDED.search_tsv"
                ),
                {"ids": ids[start : start + CHUNK]},
            )

    async def remove(self, conn: AsyncConnection, ids: Sequence[str]) -> None:
        await delete_in(conn, _tsv, "memory_id", ids)

    async def search(
        self, conn: AsyncConnection, query: str, scope: Scope, limit: int
    ) -> list[tuple[str, float]]:
        text = websearch_text(query)
        if text is None:
            return []
        terms = sa.func.websearch_to_tsquery(sa.literal_column(f"'{_CONFIG}'::regconfig"), text)
        namespaces = sa.func.to_tsquery(
            sa.literal_column("'simple'::regconfig"), " | ".join(pg_scope_token(n) for n in scope.namespaces)
        )
        score = sa.func.ts_rank_cd(_tsv.c.search_tsv, terms, 1).label("score")
        stmt = (
            sa.select(_tsv.c.memory_id, score)
            .where(_tsv.c.search_tsv.op("@@")(terms.op("&&")(namespaces)))
            .order_by(score.desc(), _tsv.c.memory_id)
            .limit(limit)
        )
        if scope.kinds is not None:  # selective: filter before the cut; otherwise rows are checked on fetch
            stmt = stmt.join_from(_tsv, memories, memories.c.id == _tsv.c.memory_id).where(
                scope_clause(scope)
            )
        return [(row[0], float(row[1])) for row in (await conn.execute(stmt)).all()]

    async def count(self, conn: AsyncConnection) -> int:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(_tsv))).scalar_one())

    async def rebuild(self, conn: AsyncConnection) -> int:
        await conn.execute(sa.delete(_tsv))
        await conn.execute(
            sa.text(f"INSERT INTO memory_tsv (memory_id, search_tsv) SELECT m.id, {_TSV_OF} FROM memories m")
        )
        return await self.count(conn)
