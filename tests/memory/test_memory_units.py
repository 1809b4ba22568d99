"""The parts recall is built from: query building, fusion, the vector index, the L1 cache, the public API."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import sophia.memory as memory_api
from sophia.memory import (
    Gathered,
    LruRecallCache,
    Memory,
    MemoryKind,
    MemorySettings,
    NumpyVectorIndex,
    Period,
    RecallHit,
    RecallReasons,
    Scope,
    VectorEntry,
    fts_query,
    periods_in,
    query_terms,
    rank_gathered,
)
from sophia.memory._ranking import QueryCues, fuse

NOW = datetime(2025, 1, 1, tzinfo=UTC)


def test_public_names_are_exactly_the_declared_api() -> None:
    assert sorted(memory_api.__all__) == memory_api.__all__
    for name in memory_api.__all__:
        assert getattr(memory_api, name) is not None


def test_query_terms_drop_stop_words_and_duplicates() -> None:
    assert query_terms("When did Caroline go to the LGBTQ support group? The group!") == [
        "caroline",
        "lgbtq",
        "support",
        "group",
    ]
    assert query_terms("What's Melanie's favourite?") == ["melanie", "favourite"]
    assert fts_query("what is it") is None


@given(st.text(max_size=60))
def test_fts_query_is_always_an_or_of_quoted_terms(text: str) -> None:
    query = fts_query(text)
    if query is not None:
        for part in query.split(" OR "):
            assert part.startswith('"') and part.endswith('"') and '"' not in part[1:-1].replace('""', "")


def test_weighted_rrf_ranks_agreement_above_a_single_list() -> None:
    settings = MemorySettings(keyword_weight=1.0, vector_weight=2.0)
    fused = fuse([("a", 9.0), ("b", 5.0)], [("b", 0.9), ("c", 0.8)], settings)
    assert max(fused.values(), key=lambda c: c.fused).id == "b"
    assert fused["c"].fused > fused["a"].fused  # the vector list weighs double


def test_temporal_cue_only_for_when_questions() -> None:
    assert QueryCues.of("When did Ann move to Paris?").temporal
    assert not QueryCues.of("Where did Ann move?").temporal


def _entry(i: str, vec: list[float], ns: str, **times: datetime | None) -> VectorEntry:
    v = np.array(vec, dtype=np.float32)
    return VectorEntry(
        i,
        v / np.linalg.norm(v),
        ns,
        MemoryKind.FACT,
        times.get("valid_from") or NOW - timedelta(days=1),
        times.get("valid_until"),
        times.get("expires_at"),
    )


async def test_vector_index_search_respects_scope_and_validity(tmp_path: Path) -> None:
    index = NumpyVectorIndex(2, tmp_path / "v.npz")
    await index.add(
        [
            _entry("mine", [1, 0], "user:a"),
            _entry("theirs", [1, 0], "user:b"),
            _entry("closed", [1, 0.1], "user:a", valid_until=NOW - timedelta(hours=1)),
            _entry("expired", [1, 0.2], "user:a", expires_at=NOW - timedelta(seconds=1)),
            _entry("far", [0, 1], "user:a"),
        ]
    )
    query = np.array([1, 0], dtype=np.float32)
    scope = Scope(("user:a",), None, None, NOW)
    assert [i for i, _ in await index.search(query, scope, 10)] == ["mine", "far"]
    past = Scope(("user:a",), None, NOW - timedelta(hours=2), NOW)
    assert [i for i, _ in await index.search(query, past, 2)] == ["mine", "closed"]
    assert await index.search(query, Scope(("user:c",), None, None, NOW), 10) == []
    assert await index.search(query, Scope(("user:a",), (MemoryKind.CODE,), None, NOW), 10) == []


async def test_vector_index_remove_keeps_the_rest_searchable_and_snapshot_round_trips(tmp_path: Path) -> None:
    index = NumpyVectorIndex(2, tmp_path / "v.npz")
    await index.add([_entry(str(i), [1, i], "global") for i in range(5)])
    await index.remove(["0", "2", "missing"])
    assert sorted(index.ids()) == ["1", "3", "4"]
    top = await index.search(np.array([0, 1], dtype=np.float32), Scope(("global",), None, None, NOW), 1)
    assert top[0][0] == "4"
    index.save()
    loaded = NumpyVectorIndex(2, tmp_path / "v.npz").load_snapshot()
    assert sorted(loaded) == ["1", "3", "4"]
    assert NumpyVectorIndex(3, tmp_path / "v.npz").load_snapshot() == {}  # another size is not trusted


def _hit(memory_id: str, namespace: str) -> RecallHit:
    reasons = RecallReasons(None, None, None, None, 0.0, 0.0, 0.0, 0.5, 0.0, 0.0)
    return RecallHit(Memory(memory_id, namespace, MemoryKind.FACT, "x"), 0.0, reasons)


async def test_cache_invalidation_drops_only_recalls_that_read_the_namespace() -> None:
    cache = LruRecallCache(max_entries=10)
    await cache.put_recall("q1", ["user:a"], [_hit("1", "user:a")])
    await cache.put_recall("q2", ["user:a", "user:b"], [_hit("2", "user:b")])
    await cache.put_recall("q3", ["user:c"], [_hit("3", "user:c")])
    await cache.invalidate(["user:a"])
    assert await cache.get_recall("q1") is None and await cache.get_recall("q2") is None
    assert await cache.get_recall("q3") is not None


async def test_cache_evicts_the_least_recently_used() -> None:
    cache = LruRecallCache(max_entries=2)
    for key in ("a", "b"):
        await cache.put_recall(key, ["global"], [])
    await cache.get_recall("a")
    await cache.put_recall("c", ["global"], [])
    assert await cache.get_recall("b") is None and await cache.get_recall("a") == []


def test_periods_named_in_a_question_are_read_at_their_grain() -> None:
    assert periods_in("What painting did Melanie show on October 13, 2023?") == (Period(2023, 10, 13),)
    assert periods_in("What did Gina find on 1 February, 2023?") == (Period(2023, 2, 1),)
    assert periods_in("What setback did Melanie face in October 2023?") == (Period(2023, 10, None),)
    assert periods_in("When did Melanie go camping in June?") == (Period(None, 6, None),)
    assert periods_in("How many times has Melanie gone to the beach in 2023?") == (Period(2023, None, None),)
    assert periods_in("May I ask what Ann may like?") == ()


def test_a_period_holds_turns_said_in_it_or_days_after() -> None:
    june = Period(None, 6, None)
    assert june.contains(datetime(2023, 6, 30, tzinfo=UTC))
    assert june.contains(datetime(2024, 7, 5, tzinfo=UTC))  # "last week" told a few days later
    assert not june.contains(datetime(2023, 7, 20, tzinfo=UTC))
    assert not june.contains(datetime(2023, 5, 31, tzinfo=UTC))
    day = Period(2023, 10, 13)
    assert day.contains(datetime(2023, 10, 13, 18, tzinfo=UTC))
    assert not day.contains(datetime(2023, 10, 12, tzinfo=UTC))


def _turn(i: str, session: str, turn: int, said: datetime) -> Memory:
    return Memory(
        id=i,
        namespace="user:a",
        kind=MemoryKind.CONVERSATION,
        content=f"turn {i}",
        speaker="Ann",
        session_id=session,
        turn_index=turn,
        occurred_at=said,
    )


def test_date_boost_and_session_pooling_reorder_only_when_switched_on() -> None:
    early, late = datetime(2023, 3, 2, tzinfo=UTC), datetime(2023, 10, 14, tzinfo=UTC)
    rows = {
        m.id: m for m in (_turn("a", "s1", 0, early), _turn("b", "s2", 0, late), _turn("c", "s2", 5, late))
    }
    gathered = Gathered([("a", 3.0), ("b", 2.0)], [("a", 0.9), ("c", 0.8), ("b", 0.7)], rows)
    query = "What did Ann do on October 13, 2023?"
    off = MemorySettings(date_boost=0.0, session_weight=0.0, speaker_boost=0.0, neighbour_weight=0.0)
    assert [h.memory.id for h in rank_gathered(gathered, query, off, NOW)][0] == "a"
    dated = replace(off, date_boost=2.0)
    assert [h.memory.id for h in rank_gathered(gathered, query, dated, NOW)][:2] == ["b", "c"]
    pooled = replace(off, session_weight=1.0)
    assert [h.memory.id for h in rank_gathered(gathered, "what did Ann do", pooled, NOW)][0] == "b"


def _said(i: str, content: str) -> Memory:
    return Memory(id=i, namespace="user:a", kind=MemoryKind.CONVERSATION, content=content, speaker="Ann")


def test_rerank_by_cosine_and_term_coverage_reorders_only_when_switched_on() -> None:
    rows = {
        m.id: m
        for m in (
            _said("a", "we talked about the weather"),
            _said("b", "my sister adopted two puppies from the shelter"),
            _said("c", "the puppies are cute"),
        )
    }
    # a leads both lists by rank, but b is the far closer vector and names every content word of the question
    gathered = Gathered([("a", 3.0), ("c", 2.0), ("b", 1.0)], [("a", 0.31), ("b", 0.92), ("c", 0.30)], rows)
    query = "Where did her sister adopt the puppies?"
    off = MemorySettings(date_boost=0.0, session_weight=0.0, speaker_boost=0.0, neighbour_weight=0.0)
    plain = replace(off, cosine_weight=0.0, coverage_weight=0.0)
    assert [h.memory.id for h in rank_gathered(gathered, query, plain, NOW)][0] == "a"
    by_cosine = replace(plain, cosine_weight=1.0)
    assert [h.memory.id for h in rank_gathered(gathered, query, by_cosine, NOW)][0] == "b"
    by_coverage = replace(plain, coverage_weight=1.0)
    assert [h.memory.id for h in rank_gathered(gathered, query, by_coverage, NOW)][0] == "b"


@given(st.text(max_size=60), st.text(max_size=60))
def test_term_coverage_is_a_share(query: str, content: str) -> None:
    from sophia.memory._ranking import coverage

    share = coverage(QueryCues.of(query).stems, content)
    assert 0.0 <= share <= 1.0
    assert coverage(QueryCues.of(query).stems, query) in (0.0, 1.0)
