"""MemoryService behaviour on the embedded backend: round trip, versions, forgetting, bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from sophia.errors import InvalidInput, NotFound, PermissionDenied
from sophia.memory import InvalidMemory, LruRecallCache, MemoryKind, MemoryService, Turn
from sophia.store import Database
from tests.memory._helpers import keyword_table, row_count


async def test_remember_then_recall_returns_the_memory_with_reasons(memory: MemoryService) -> None:
    await memory.remember("The staging deploy fails when the health check times out", namespace="project:web")
    wanted = await memory.remember(
        "Alice prefers dark roast coffee in the morning",
        namespace="project:web",
        kind="preference",
        metadata={"topic": "coffee"},
        importance=0.9,
        source="chat",
    )
    hits = await memory.recall("what coffee does Alice prefer", ["project:web"], k=5)
    top = hits[0]
    assert top.memory.id == wanted
    assert top.memory.kind is MemoryKind.PREFERENCE
    assert top.memory.metadata == {"topic": "coffee"}
    assert top.memory.embedding_model == memory.embedder.model_id
    assert top.reasons.keyword_rank == 1 and top.reasons.keyword_score and top.reasons.keyword_score > 0
    assert top.reasons.vector_rank is not None and top.reasons.importance == 0.9
    assert top.score == top.reasons.final_score > hits[-1].score


async def test_recall_filters_by_kind_and_metadata(memory: MemoryService) -> None:
    fact = await memory.remember("coffee machine is on floor two", namespace="global", metadata={"floor": 2})
    await memory.remember("coffee beans are ordered weekly", namespace="global", kind="outcome")
    by_kind = await memory.recall("coffee", "global", kinds=["fact"])
    assert [h.memory.id for h in by_kind] == [fact]
    by_meta = await memory.recall("coffee", "global", filters={"metadata.floor": 2})
    assert [h.memory.id for h in by_meta] == [fact]


async def test_update_keeps_old_version_closed_and_as_of_recalls_it(memory: MemoryService) -> None:
    old = await memory.remember("The team standup is at 9am", namespace="project:ops")
    between = datetime.now(UTC)
    new = await memory.update(old, "The team standup is at 10am", namespaces=["project:ops"])
    current = await memory.recall("team standup time", "project:ops")
    assert [h.memory.id for h in current] == [new]
    assert current[0].memory.supersedes == old
    past = await memory.recall("team standup time", "project:ops", as_of=between)
    assert [h.memory.id for h in past] == [old]
    old_row = await memory.get(old, namespaces="project:ops")
    assert old_row.valid_until is not None and old_row.valid_until == current[0].memory.valid_from
    with pytest.raises(InvalidInput, match="no longer current"):
        await memory.update(old, "standup at 11am", namespaces=["project:ops"])


async def test_hard_forget_removes_row_vector_fts_entry_and_cached_copy(
    memory: MemoryService, database: Database
) -> None:
    keep = await memory.remember("the wifi password rotates monthly", namespace="user:bob")
    gone = await memory.remember("bob's locker code is under the desk", namespace="user:bob")
    newer = await memory.update(gone, "bob's locker code moved to the drawer", namespaces="user:bob")
    await memory.recall("locker code", "user:bob")  # fills the recall cache
    await memory.get(newer, namespaces="user:bob")  # and the memory cache
    assert isinstance(memory.cache, LruRecallCache) and newer in memory.cache.cached_memory_ids()

    assert await memory.forget(newer, namespaces="user:bob", hard=True) == 2  # both versions
    assert await row_count(database, "memories") == 1
    assert await row_count(database, keyword_table(database)) == 1
    assert len(memory.vector) == 1 and gone not in memory.vector and newer not in memory.vector  # type: ignore[operator]
    assert memory.cache.cached_memory_ids() <= {keep}
    assert all(h.memory.id == keep for h in await memory.recall("locker code", "user:bob"))
    with pytest.raises(NotFound):
        await memory.get(newer, namespaces="user:bob")


async def test_soft_forget_hides_now_but_as_of_still_sees_it(memory: MemoryService) -> None:
    memory_id = await memory.remember("the office moves to Berlin", namespace="global")
    before = datetime.now(UTC)
    assert await memory.forget(memory_id, namespaces="global") == 1
    assert await memory.recall("office Berlin", "global") == []
    assert [h.memory.id for h in await memory.recall("office Berlin", "global", as_of=before)] == [memory_id]


async def test_forget_by_filter_only_touches_the_callers_namespaces(memory: MemoryService) -> None:
    await memory.remember("draft note one", namespace="user:a", source="import")
    await memory.remember("draft note two", namespace="user:b", source="import")
    assert await memory.forget(namespaces=["user:a"], filters={"source": "import"}, hard=True) == 1
    assert len(await memory.recall("draft note", "user:b")) == 1
    with pytest.raises(InvalidInput, match="refusing to forget a whole namespace"):
        await memory.forget(namespaces=["user:b"])


async def test_forget_and_get_of_another_namespaces_memory_say_not_found(memory: MemoryService) -> None:
    other = await memory.remember("carol's salary review", namespace="user:carol")
    with pytest.raises(NotFound):
        await memory.get(other, namespaces="user:mallory")
    with pytest.raises(NotFound):
        await memory.forget(other, namespaces="user:mallory", hard=True)
    with pytest.raises(NotFound):
        await memory.update(other, "changed", namespaces="user:mallory")
    assert (await memory.get(other, namespaces="user:carol")).content == "carol's salary review"


BAD_WRITES: list[tuple[dict[str, Any], type[Exception], str]] = [
    ({"content": "x", "namespace": "user:a", "kind": "gossip"}, InvalidMemory, "unknown memory kind"),
    ({"content": "x" * 40_000, "namespace": "user:a"}, InvalidMemory, "over the 32768-byte limit"),
    ({"content": "   ", "namespace": "user:a"}, InvalidMemory, "non-empty"),
    ({"content": "x", "namespace": "user:"}, PermissionDenied, "malformed"),
    ({"content": "x", "namespace": "users:a"}, PermissionDenied, "malformed"),
    ({"content": "x", "namespace": "user:a b"}, PermissionDenied, "malformed"),
    ({"content": "x", "namespace": "user:a", "importance": 1.5}, InvalidMemory, "between 0 and 1"),
    ({"content": "x", "namespace": "user:a", "metadata": {"f": object()}}, InvalidMemory, "JSON"),
    ({"content": "x", "namespace": "user:a", "ttl": timedelta(seconds=-1)}, InvalidMemory, "positive"),
]


@pytest.mark.parametrize(("kwargs", "error", "message"), BAD_WRITES)
async def test_bad_input_is_refused_and_writes_nothing(
    memory: MemoryService, database: Database, kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    kwargs = dict(kwargs)
    content = kwargs.pop("content")
    with pytest.raises(error, match=message):
        await memory.remember(content, **kwargs)
    assert await row_count(database, "memories") == 0
    assert await row_count(database, keyword_table(database)) == 0
    assert len(memory.vector) == 0


async def test_a_bad_turn_refuses_the_whole_conversation(memory: MemoryService, database: Database) -> None:
    turns = [Turn("Ann", "hello there"), Turn("Ben", "y" * 40_000)]
    with pytest.raises(InvalidMemory):
        await memory.ingest_conversation(turns, namespace="user:ann", session_id="s1")
    assert await row_count(database, "memories") == 0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ({"namespaces": []}, "at least one namespace"),
        ({"namespaces": ["user:a"], "kinds": ["nope"]}, "unknown memory kind"),
        ({"namespaces": ["user:a"], "filters": {"colour": "red"}}, "unknown filter"),
        ({"namespaces": ["user:a"], "filters": {"metadata.x": [1]}}, "string, number"),
        ({"namespaces": ["user:a"], "filters": "source=x"}, "mapping"),
        ({"namespaces": ["user:a"], "k": 0}, "k must be"),
        ({"namespaces": ["global", "agent:"]}, "malformed"),
    ],
)
async def test_malformed_recall_is_refused(memory: MemoryService, call: dict[str, Any], message: str) -> None:
    with pytest.raises((InvalidInput, PermissionDenied), match=message):
        await memory.recall("anything", **call)


async def test_ingest_conversation_keeps_speaker_time_and_order(memory: MemoryService) -> None:
    when = datetime(2023, 5, 8, 13, 56, tzinfo=UTC)
    ids = await memory.ingest_conversation(
        [Turn("Caroline", "I went to a support group yesterday", when), Turn("Melanie", "How was it?", when)],
        namespace="user:caroline",
        session_id="session_1",
    )
    first = await memory.get(ids[0], namespaces="user:caroline")
    second = await memory.get(ids[1], namespaces="user:caroline")
    assert (first.speaker, first.occurred_at, first.turn_index, first.kind) == (
        "Caroline",
        when,
        0,
        MemoryKind.CONVERSATION,
    )
    assert (second.speaker, second.session_id, second.turn_index) == ("Melanie", "session_1", 1)


async def test_neighbour_turn_is_recalled_with_the_matching_question(memory: MemoryService) -> None:
    ids = await memory.ingest_conversation(
        [Turn("Ann", "What are you researching these days?"), Turn("Ben", "Mostly adoption agencies.")]
        + [Turn("Cy", f"filler chat number {i}") for i in range(20)],
        namespace="user:ann",
        session_id="s1",
    )
    hits = await memory.recall("what are they researching", "user:ann", k=3)
    by_id = {h.memory.id: h for h in hits}
    assert ids[1] in by_id and by_id[ids[1]].reasons.neighbour_score > 0


async def test_recall_cache_is_dropped_by_a_write_in_the_same_namespace(memory: MemoryService) -> None:
    await memory.remember("penguins live in the south", namespace="user:z")
    first = await memory.recall("penguins", "user:z")
    assert await memory.recall("penguins", "user:z") == first  # served from L1
    added = await memory.remember("penguins cannot fly", namespace="user:z")
    assert added in {h.memory.id for h in await memory.recall("penguins", "user:z")}


async def test_recall_counts_accesses_and_stats_report_the_store(
    memory: MemoryService, database: Database
) -> None:
    await memory.remember("the printer is on floor three", namespace="global")
    await memory.recall("printer", "global")
    await memory.recall("printer", "global")  # a cached answer is a use too
    await memory.close()  # flushes the use counts
    async with database.engine.connect() as conn:
        row = (await conn.execute(sa.text("SELECT access_count, last_accessed_at FROM memories"))).one()
    assert row[0] == 2 and row[1] is not None
    stats = await memory.stats()
    assert (stats.memories, stats.current, stats.vectors, stats.keyword_entries) == (1, 1, 1, 1)
    assert stats.by_kind == {"fact": 1}


@pytest.mark.parametrize(
    "query",
    ['"unterminated', "NOT AND OR", "a:* & !b | (c", "-staging deploy", "scope : nsdeadbeef", "'; DROP"],
)
async def test_query_syntax_in_user_text_is_inert_on_both_engines(memory: MemoryService, query: str) -> None:
    kept = await memory.remember("the staging deploy uses blue green", namespace="user:s")
    await memory.remember("another namespace mentions staging deploy", namespace="user:t")
    hits = await memory.recall(query, "user:s", k=5)
    assert {h.memory.namespace for h in hits} <= {"user:s"}
    if "deploy" in query:
        assert [h.memory.id for h in hits] == [kept] and hits[0].reasons.keyword_rank == 1
