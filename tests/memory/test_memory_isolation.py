"""A recall never returns a memory outside the namespaces the caller passed, whatever the mix."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sophia.memory import MemoryService

NAMESPACES = ["global", "user:alice", "user:bob", "project:apollo", "project:zeus", "agent:coder"]
WORDS = ["coffee", "deploy", "salary", "password", "roadmap", "holiday", "invoice", "bug"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    writes=st.lists(
        st.tuples(st.sampled_from(NAMESPACES), st.lists(st.sampled_from(WORDS), min_size=1, max_size=4)),
        max_size=6,
    ),
    readable=st.sets(st.sampled_from(NAMESPACES), min_size=1),
    query=st.lists(st.sampled_from(WORDS), min_size=1, max_size=3),
    k=st.integers(1, 20),
)
async def test_recall_stays_inside_the_given_namespaces(
    memory: MemoryService,
    writes: list[tuple[str, list[str]]],
    readable: set[str],
    query: list[str],
    k: int,
) -> None:
    for namespace, words in writes:
        await memory.remember(" ".join(words), namespace=namespace)
    hits = await memory.recall(" ".join(query), sorted(readable), k=k)
    assert {h.memory.namespace for h in hits} <= readable
    assert len(hits) <= k
