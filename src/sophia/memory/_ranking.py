"""Turning keyword and vector candidates into one ranking: weighted RRF, neighbour spreading, re-scoring.

Each step is switchable through `MemorySettings` weights so the benchmark can measure what it adds.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sophia.memory._keyword import query_terms
from sophia.memory._model import Memory, MemorySettings, RecallHit, RecallReasons
from sophia.memory._query_dates import Period, periods_in, said_in

_MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"
_DAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday"
_TEMPORAL_QUESTION = re.compile(
    r"^\s*when\b|\bwhat (?:time|date|day|year|month)\b|\bhow long ago\b|\bwhich (?:year|month|day)\b", re.I
)
_TEMPORAL_TEXT = re.compile(
    rf"\b(?:yesterday|today|tonight|tomorrow|ago|recently|last|next|this (?:week|month|year|weekend)|"
    rf"(?:19|20)\d\d|{_MONTHS}|{_DAYS}|weekend|week|month|year|since)\b",
    re.I,
)


@dataclass
class Candidate:
    id: str
    keyword_score: float | None = None
    keyword_rank: int | None = None
    vector_score: float | None = None
    vector_rank: int | None = None
    fused: float = 0.0
    neighbour: float = 0.0
    session: float = 0.0


@dataclass(frozen=True)
class QueryCues:
    """What the query says beyond its words: that it asks 'when', its content words, the dates it names."""

    temporal: bool
    terms: frozenset[str]
    periods: tuple[Period, ...] = ()
    stems: frozenset[str] = frozenset()

    @classmethod
    def of(cls, query: str) -> QueryCues:
        return cls(
            temporal=bool(_TEMPORAL_QUESTION.search(query)),
            terms=frozenset(query_terms(query)),
            periods=periods_in(query),
            stems=_stems(query),
        )


def fuse(
    keyword: Sequence[tuple[str, float]], vector: Sequence[tuple[str, float]], settings: MemorySettings
) -> dict[str, Candidate]:
    """Weighted reciprocal-rank fusion: rank-based, so BM25 and cosine need no common scale."""
    candidates: dict[str, Candidate] = {}
    for rank, (memory_id, score) in enumerate(keyword, start=1):
        c = candidates.setdefault(memory_id, Candidate(memory_id))
        c.keyword_score, c.keyword_rank = score, rank
        c.fused += settings.keyword_weight / (settings.rrf_k + rank)
    for rank, (memory_id, score) in enumerate(vector, start=1):
        c = candidates.setdefault(memory_id, Candidate(memory_id))
        c.vector_score, c.vector_rank = score, rank
        c.fused += settings.vector_weight / (settings.rrf_k + rank)
    return candidates


NEIGHBOUR_SOURCES = 20
"""The best hits of each list whose neighbours recall fetches (independent of weights, so ranking is pure)."""


def neighbour_keys(memories: Iterable[Memory], window: int) -> set[tuple[str, str, int]]:
    """(namespace, session, turn) of the turns around each given turn, to fetch them in one query."""
    keys: set[tuple[str, str, int]] = set()
    for m in memories:
        if m.session_id is not None and m.turn_index is not None:
            for offset in range(1, window + 1):
                keys.add((m.namespace, m.session_id, m.turn_index - offset))
                keys.add((m.namespace, m.session_id, m.turn_index + offset))
    return keys


def spread_to_neighbours(
    candidates: dict[str, Candidate], memories: Mapping[str, Memory], settings: MemorySettings
) -> None:
    """A turn next to a strong match gets part of its score: answers often sit one turn after the question."""
    if settings.neighbour_weight <= 0:
        return
    by_turn = {
        (m.namespace, m.session_id, m.turn_index): m.id
        for m in memories.values()
        if m.session_id is not None and m.turn_index is not None
    }
    gains: dict[str, float] = {}
    for c in list(candidates.values()):
        m = memories.get(c.id)
        if m is None or m.session_id is None or m.turn_index is None or c.fused <= 0:
            continue
        for offset in range(1, settings.neighbour_window + 1):
            share = settings.neighbour_weight * c.fused / offset
            for turn in (m.turn_index - offset, m.turn_index + offset):
                other = by_turn.get((m.namespace, m.session_id, turn))
                if other is not None:
                    gains[other] = max(gains.get(other, 0.0), share)
    for memory_id, gain in gains.items():
        candidates.setdefault(memory_id, Candidate(memory_id)).neighbour = gain


def pool_sessions(
    candidates: dict[str, Candidate], memories: Mapping[str, Memory], settings: MemorySettings
) -> None:
    """The session as a retrieval unit: a turn gains a share of the evidence the rest of its session has.

    Answers that span several turns of one session (lists, "how many times") sit in sessions where many turns
    match a little; the session's summed score lifts each of them.
    """
    if settings.session_weight <= 0:
        return
    totals: dict[tuple[str, str], float] = {}
    for c in candidates.values():
        m = memories.get(c.id)
        if m is not None and m.session_id is not None:
            key = (m.namespace, m.session_id)
            totals[key] = totals.get(key, 0.0) + c.fused
    for c in candidates.values():
        m = memories.get(c.id)
        if m is not None and m.session_id is not None:
            c.session = settings.session_weight * (totals[(m.namespace, m.session_id)] - c.fused)


def _recency(memory: Memory, now: datetime, half_life_days: float) -> float:
    moment = memory.occurred_at or memory.created_at
    age_days = max(0.0, (now - moment).total_seconds() / 86400.0)
    return 0.5 ** (age_days / half_life_days) if half_life_days > 0 else 0.0


@functools.lru_cache(maxsize=65536)
def _stems(text: str) -> frozenset[str]:
    return frozenset(word[:5] for word in query_terms(text))


def coverage(query_stems: frozenset[str], content: str) -> float:
    """Share of the query's content-word stems found in `content` (0 when the query has none)."""
    if not query_stems:
        return 0.0
    return len(query_stems & _stems(content)) / len(query_stems)


def _rerank_terms(
    c: Candidate, memory: Memory, cues: QueryCues, settings: MemorySettings, floor: float
) -> float:
    """The score-aware rerank of a candidate: its cosine (or the vector list's lowest) and its term coverage."""
    extra = 0.0
    if settings.cosine_weight:
        extra += settings.cosine_weight * max(0.0, c.vector_score if c.vector_score is not None else floor)
    if settings.coverage_weight:
        extra += settings.coverage_weight * coverage(cues.stems, memory.content)
    return extra


def _cue_boost(memory: Memory, cues: QueryCues, settings: MemorySettings) -> float:
    boost = 0.0
    if memory.speaker and settings.speaker_boost and memory.speaker.lower() in cues.terms:
        boost += settings.speaker_boost
    if cues.temporal and settings.temporal_boost and _TEMPORAL_TEXT.search(memory.content):
        boost += settings.temporal_boost
    if cues.periods and settings.date_boost and said_in(memory, cues.periods):
        boost += settings.date_boost
    return boost


def rank(
    candidates: Mapping[str, Candidate],
    memories: Mapping[str, Memory],
    cues: QueryCues,
    settings: MemorySettings,
    now: datetime,
    cosine_floor: float = 0.0,
) -> list[RecallHit]:
    """Final score = (normalised relevance + rerank terms) x (1 + cue boosts) + small recency, importance, use."""
    scale = (settings.keyword_weight + settings.vector_weight) / (settings.rrf_k + 1) or 1.0
    hits: list[RecallHit] = []
    for c in candidates.values():
        memory = memories.get(c.id)
        if memory is None:
            continue
        relevance = (c.fused + c.neighbour + c.session) / scale
        relevance += _rerank_terms(c, memory, cues, settings, cosine_floor)
        recency = _recency(memory, now, settings.recency_half_life_days)
        access = math.log1p(memory.access_count) / math.log1p(100)
        final = (
            relevance * (1.0 + _cue_boost(memory, cues, settings))
            + settings.recency_weight * recency
            + settings.importance_weight * memory.importance
            + settings.access_weight * min(access, 1.0)
        )
        reasons = RecallReasons(
            keyword_score=c.keyword_score,
            keyword_rank=c.keyword_rank,
            vector_score=c.vector_score,
            vector_rank=c.vector_rank,
            fused_score=c.fused,
            neighbour_score=c.neighbour,
            recency=recency,
            importance=memory.importance,
            access=access,
            final_score=final,
        )
        hits.append(RecallHit(memory=memory, score=final, reasons=reasons))
    hits.sort(key=lambda hit: (-hit.score, hit.memory.id))
    return hits


@dataclass(frozen=True)
class Gathered:
    """Everything recall read for one query: both candidate lists and the rows (with neighbours) in scope.

    Ranking these is pure, so the benchmark can re-rank one read under many weight settings.
    """

    keyword: Sequence[tuple[str, float]]
    vector: Sequence[tuple[str, float]]
    memories: Mapping[str, Memory]


def rank_gathered(gathered: Gathered, query: str, settings: MemorySettings, now: datetime) -> list[RecallHit]:
    """Fuse, spread to neighbours, pool sessions and score: the whole ranking after the reads."""
    keyword = gathered.keyword if settings.keyword_weight else ()
    vector = gathered.vector if settings.vector_weight else ()
    candidates = fuse(keyword, vector, settings)
    spread_to_neighbours(candidates, gathered.memories, settings)
    pool_sessions(candidates, gathered.memories, settings)
    floor = min((score for _, score in vector), default=0.0)
    return rank(candidates, gathered.memories, QueryCues.of(query), settings, now, floor)
