"""The embedded index's scoped search equals brute force over the entries, whatever the scope and index shape."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sophia.memory import MemoryKind, NumpyVectorIndex, Scope, VectorEntry

NOW = datetime(2026, 1, 1, tzinfo=UTC)
KINDS = list(MemoryKind)


def _entries(seed: int, count: int, namespaces: int) -> list[VectorEntry]:
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(count, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    entries = []
    for i in range(count):
        closed = NOW - timedelta(hours=1) if rng.random() < 0.2 else None
        expires = NOW - timedelta(seconds=1) if rng.random() < 0.1 else None
        entries.append(
            VectorEntry(
                f"{i:032x}",
                vectors[i],
                f"user:u{rng.integers(namespaces)}",
                KINDS[int(rng.integers(len(KINDS)))],
                NOW - timedelta(days=1),
                closed,
                expires,
            )
        )
    return entries


def _brute(entries: list[VectorEntry], query: np.ndarray, scope: Scope, limit: int) -> list[str]:
    def visible(e: VectorEntry) -> bool:
        moment = scope.moment
        return (
            e.namespace in scope.namespaces
            and (scope.kinds is None or e.kind in scope.kinds)
            and e.valid_from <= moment
            and (e.valid_until is None or e.valid_until > moment)
            and (e.expires_at is None or e.expires_at > scope.now)
        )

    scored = sorted((-float(e.vector @ query), e.id) for e in entries if visible(e))
    return [memory_id for _, memory_id in scored[:limit]]


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    count=st.integers(0, 200),
    namespaces=st.integers(1, 12),
    picked=st.sets(st.integers(0, 12), min_size=1, max_size=5),
    kinds=st.none() | st.sets(st.sampled_from(KINDS), min_size=1, max_size=3),
    past=st.booleans(),
    limit=st.integers(1, 30),
    removed=st.integers(0, 20),
)
async def test_scoped_search_matches_brute_force(
    seed: int,
    count: int,
    namespaces: int,
    picked: set[int],
    kinds: set[MemoryKind] | None,
    past: bool,
    limit: int,
    removed: int,
) -> None:
    entries = _entries(seed, count, namespaces)
    index = NumpyVectorIndex(8)
    await index.add(entries)
    gone = [e.id for e in entries[:removed]]
    await index.remove(gone)
    kept = entries[removed:]
    scope = Scope(
        tuple(sorted(f"user:u{i}" for i in picked)),
        None if kinds is None else tuple(sorted(kinds)),
        NOW - timedelta(hours=2) if past else None,
        NOW,
    )
    query = _entries(seed + 1, 1, 1)[0].vector
    found = [memory_id for memory_id, _ in await index.search(query, scope, limit)]
    assert found == _brute(kept, query, scope, limit)
