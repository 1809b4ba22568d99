"""L2 keyword index: a Protocol, the SQLite FTS5 (BM25, porter stemming) implementation, and query building.

The FTS rows live in the same database as the memory rows and are written in the same transaction, so they can
only disagree after a crash mid-migration; `rebuild()` recreates them from `memories.search_text`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from sophia.memory._model import Scope
from sophia.memory._schema import CHUNK, FTS_TABLE, delete_in, memories, scope_clause

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?", re.UNICODE)

STOP_WORDS = frozenset(
    """
    a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has
    have having he her here hers herself him himself his how i if in into is it its itself just me
    might more most must my myself no nor not now of off on once only or other our ours ourselves
    out over own same shall she should so some such than that the their theirs them themselves then
    there these they this those through to too under until up very was we were what when where which
    while who whom whose why will with would you your yours yourself yourselves ever also else may
    many much us yes let lets get got go going gone went thing things kind sort
    """.split()
)


def query_terms(text: str) -> list[str]:
    """Content words of a query, lower-cased, in order, without duplicates or stop words."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(text.lower()):
        word = word.split("'")[0] if word.endswith(("'s", "'t", "'re", "'ve", "'ll", "'d", "'m")) else word
        if len(word) > 1 and word not in STOP_WORDS:
            seen.setdefault(word, None)
    return list(seen)


def fts_query(text: str) -> str | None:
    """An FTS5 OR-query of quoted terms (quoting makes user text inert: no operators, no column filters)."""
    terms = query_terms(text)
    if not terms:
        return None
    return " OR ".join('"' + term.replace('"', '""') + '"' for term in terms)


def scope_token(namespace: str) -> str:
    """One opaque FTS token per namespace, so MATCH itself narrows to the caller's rows (fast at 100k+)."""
    return "ns" + hashlib.blake2b(namespace.encode(), digest_size=10).hexdigest()


@runtime_checkable
class KeywordIndex(Protocol):
    """Full-text search over memory rows; works inside the caller's transaction so writes stay atomic."""

    async def add(self, conn: AsyncConnection, entries: Sequence[tuple[str, str, str]]) -> None:
        """Index `(memory_id, namespace, search_text)` triples."""
        ...

    async def remove(self, conn: AsyncConnection, ids: Sequence[str]) -> None: ...

    async def search(
        self, conn: AsyncConnection, query: str, scope: Scope, limit: int
    ) -> list[tuple[str, float]]:
        """Best `limit` ids by relevance within `scope` (higher score is better), best first."""
        ...

    async def count(self, conn: AsyncConnection) -> int: ...

    async def rebuild(self, conn: AsyncConnection) -> int:
        """Recreate the index from the rows; return how many entries it holds."""
        ...


_fts = sa.table(
    FTS_TABLE,
    sa.column("memory_id", sa.String()),
    sa.column("scope", sa.Text()),
    sa.column("text", sa.Text()),
)


class SqliteKeywordIndex:
    """FTS5 with BM25 ranking; the table is created by migration 0002 with the porter tokenizer."""

    async def add(self, conn: AsyncConnection, entries: Sequence[tuple[str, str, str]]) -> None:
        if entries:
            rows = [{"memory_id": i, "scope": scope_token(ns), "text": t} for i, ns, t in entries]
            await conn.execute(sa.insert(_fts), rows)

    async def remove(self, conn: AsyncConnection, ids: Sequence[str]) -> None:
        await delete_in(conn, _fts, "memory_id", ids)

    async def search(
        self, conn: AsyncConnection, query: str, scope: Scope, limit: int
    ) -> list[tuple[str, float]]:
        terms = fts_query(query)
        if terms is None:
            return []
        match = "scope : (" + " OR ".join(scope_token(ns) for ns in scope.namespaces) + f") AND ({terms})"
        score = sa.func.bm25(sa.literal_column(FTS_TABLE)).label("score")
        stmt = (
            sa.select(_fts.c.memory_id, score)
            .where(sa.text(f"{FTS_TABLE} MATCH :match").bindparams(match=match))
            .order_by(score)
            .limit(limit)
        )
        if scope.kinds is not None:  # a kind filter is selective: apply it here, not after the cut
            stmt = stmt.join_from(_fts, memories, memories.c.id == _fts.c.memory_id).where(
                scope_clause(scope)
            )
        # Without a kind filter the namespace tokens already confine MATCH; validity is checked when the rows
        # are read (`fetch_memories` with the scope), which saves a join over every match (3x at 100k).
        rows = (await conn.execute(stmt)).all()
        return [(row[0], -float(row[1])) for row in rows]

    async def count(self, conn: AsyncConnection) -> int:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(_fts))).scalar_one())

    async def rebuild(self, conn: AsyncConnection) -> int:
        await conn.execute(sa.delete(_fts))
        rows = (
            await conn.execute(sa.select(memories.c.id, memories.c.namespace, memories.c.search_text))
        ).all()
        for start in range(0, len(rows), CHUNK):
            await self.add(conn, [(r[0], r[1], r[2]) for r in rows[start : start + CHUNK]])
        return await self.count(conn)
