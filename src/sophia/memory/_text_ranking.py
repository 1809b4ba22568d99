"""Memory's hybrid ranking over texts that are not memories (research passages): the same BM25 and RRF fusion.

BM25 is SQLite FTS5 with the tokenizer of the memory index (porter, unicode61), over an in-memory table built for
the call; vectors come from the caller's embedder (MiniLM by default); `fuse` is the weighted reciprocal-rank
fusion recall uses. Only the keyword pool is embedded, so ranking a few hundred passages stays cheap.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

import numpy as np

from sophia.memory._embedding import Embedder
from sophia.memory._keyword import fts_query
from sophia.memory._model import MemorySettings
from sophia.memory._ranking import fuse

__all__ = ["rank_texts"]

_TOKENIZER = "porter unicode61 remove_diacritics 2"


def _bm25(query: str, texts: Sequence[str], limit: int) -> list[tuple[str, float]]:
    match = fts_query(query)
    if match is None or not texts:
        return []
    with sqlite3.connect(":memory:") as db:
        db.execute(f"CREATE VIRTUAL TABLE t USING fts5(body, tokenize = '{_TOKENIZER}')")
        db.executemany("INSERT INTO t(rowid, body) VALUES (?, ?)", [(i, t) for i, t in enumerate(texts)])
        rows = db.execute(
            "SELECT rowid, bm25(t) FROM t WHERE t MATCH ? ORDER BY bm25(t) LIMIT ?", (match, limit)
        ).fetchall()
    return [(str(row[0]), -float(row[1])) for row in rows]


def rank_texts(
    query: str,
    texts: Sequence[str],
    *,
    embedder: Embedder | None,
    settings: MemorySettings | None = None,
    pool: int = 80,
) -> list[tuple[int, float]]:
    """`(index into texts, fused score)`, best first: BM25 candidates re-ranked with vectors by weighted RRF.

    Without an embedder (or with `vector_weight` 0) the order is BM25's alone.
    """
    settings = settings or MemorySettings()
    keyword = _bm25(query, texts, pool)
    vector: list[tuple[str, float]] = []
    if embedder is not None and settings.vector_weight and keyword:
        ids = [int(i) for i, _ in keyword]
        vectors = embedder.embed([query, *(texts[i] for i in ids)])
        scores = vectors[1:] @ vectors[0]
        order = np.argsort(-scores, kind="stable")
        vector = [(str(ids[int(j)]), float(scores[int(j)])) for j in order]
    fused = fuse(keyword if settings.keyword_weight else [], vector, settings)
    ranked = sorted(fused.values(), key=lambda c: (-c.fused, int(c.id)))
    return [(int(c.id), c.fused) for c in ranked]
