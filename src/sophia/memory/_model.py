"""What a memory is: kinds, namespaces, the stored record, recall hits and the limits that guard writes."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sophia.memory._errors import InvalidMemory, InvalidNamespace


class MemoryKind(StrEnum):
    CONVERSATION = "conversation"
    FACT = "fact"
    CODE = "code"
    RESEARCH = "research"
    OUTCOME = "outcome"
    PREFERENCE = "preference"


_NAMESPACE = re.compile(
    r"^(?:global|(?:user|project|agent|connector|hr):[A-Za-z0-9][A-Za-z0-9._@+-]{0,127})$"
)
_FILTER_FIELDS = ("source", "speaker", "session_id")
_FILTER_RANGES = ("min_importance", "occurred_after", "occurred_before")
Scalar = str | int | float | bool | None


def check_namespace(namespace: str) -> str:
    """Return the namespace if well formed; malformed names are refused, never guessed at."""
    if not isinstance(namespace, str) or not _NAMESPACE.match(namespace):
        raise InvalidNamespace(
            f"namespace {str(namespace)[:80]!r} is malformed: use 'global', 'user:<id>', 'project:<name>', "
            "'agent:<name>', 'connector:<name>' or 'hr:<name>' (letters, digits and . _ @ + - only)"
        )
    return namespace


def check_namespaces(namespaces: Iterable[str] | str) -> tuple[str, ...]:
    if isinstance(namespaces, str):
        namespaces = (namespaces,)
    checked = tuple(sorted({check_namespace(n) for n in namespaces}))
    if not checked:
        raise InvalidNamespace("recall needs at least one namespace the caller may read")
    return checked


def check_kind(kind: str | MemoryKind) -> MemoryKind:
    try:
        return MemoryKind(kind)
    except ValueError:
        allowed = ", ".join(k.value for k in MemoryKind)
        raise InvalidMemory(f"unknown memory kind {str(kind)[:40]!r}: use one of {allowed}") from None


def check_kinds(kinds: Iterable[str | MemoryKind] | None) -> tuple[MemoryKind, ...] | None:
    if kinds is None:
        return None
    if isinstance(kinds, str):
        kinds = (kinds,)
    return tuple(sorted({check_kind(k) for k in kinds}))


def utc(value: datetime | None) -> datetime | None:
    """Naive datetimes are taken as UTC so every comparison is between aware times."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise InvalidMemory(f"expected a datetime, got {type(value).__name__}")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def now_utc() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class MemorySettings:
    """Limits and recall weights; the weights are the median of leave-one-conversation-out choices (bench)."""

    max_content_bytes: int = 32 * 1024
    max_metadata_bytes: int = 16 * 1024
    max_k: int = 200
    candidate_pool: int = 100
    rrf_k: float = 5.0
    keyword_weight: float = 1.0
    vector_weight: float = 0.75
    neighbour_weight: float = 0.5
    neighbour_window: int = 1
    speaker_boost: float = 0.6
    temporal_boost: float = 1.0
    date_boost: float = 2.0
    session_weight: float = 0.1
    cosine_weight: float = 0.0
    """Rerank: adds the candidate's own vector cosine (rank fusion alone forgets how close a match is)."""
    coverage_weight: float = 0.25
    """Rerank: adds the share of the query's content words (5-letter stems) that the candidate contains."""
    recency_weight: float = 0.02
    importance_weight: float = 0.02
    access_weight: float = 0.01
    recency_half_life_days: float = 30.0
    embed_speaker: bool = True
    embed_date: bool = False
    duplicate_threshold: float = 0.95
    decay_after_days: float = 30.0
    decay_factor: float = 0.9
    min_importance: float = 0.05
    cache_size: int = 1024
    graph: bool = True
    """Read entities and relationships out of every write into the temporal graph (rules unless a model is given)."""


@dataclass(frozen=True)
class Memory:
    """One stored memory version: rows are add-only, an update closes `valid_until` and links `supersedes`."""

    id: str
    namespace: str
    kind: MemoryKind
    content: str
    metadata: Mapping[str, Any] = field(default_factory=dict)
    importance: float = 0.5
    source: str | None = None
    created_at: datetime = field(default_factory=now_utc)
    valid_from: datetime = field(default_factory=now_utc)
    valid_until: datetime | None = None
    expires_at: datetime | None = None
    supersedes: str | None = None
    embedding_model: str = ""
    access_count: int = 0
    last_accessed_at: datetime | None = None
    speaker: str | None = None
    session_id: str | None = None
    occurred_at: datetime | None = None
    turn_index: int | None = None

    def valid_at(self, moment: datetime) -> bool:
        return self.valid_from <= moment and (self.valid_until is None or moment < self.valid_until)


@dataclass(frozen=True)
class Turn:
    """A conversation turn to ingest; `occurred_at` is when it was said (a session date), not ingest time."""

    speaker: str
    content: str
    occurred_at: datetime | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RecallReasons:
    """Why a memory ranked where it did, so callers (and people) can audit recall."""

    keyword_score: float | None
    keyword_rank: int | None
    vector_score: float | None
    vector_rank: int | None
    fused_score: float
    neighbour_score: float
    recency: float
    importance: float
    access: float
    final_score: float
    via_graph: str | None = None
    """The entity a graph expansion came through; None for a direct hit."""


@dataclass(frozen=True)
class RecallHit:
    memory: Memory
    score: float
    reasons: RecallReasons


@dataclass(frozen=True)
class Scope:
    """Which rows a search may see: the caller's namespaces, kinds, and the moment to view history at."""

    namespaces: tuple[str, ...]
    kinds: tuple[MemoryKind, ...] | None
    as_of: datetime | None
    now: datetime

    @property
    def moment(self) -> datetime:
        return self.as_of or self.now


@dataclass(frozen=True)
class MemoryStats:
    memories: int
    current: int
    by_kind: Mapping[str, int]
    namespaces: int
    vectors: int
    keyword_entries: int
    embedding_model: str
    cache_entries: int


def check_filters(filters: Mapping[str, Any] | None) -> dict[str, Any]:
    """Filters are a flat mapping: row fields, `metadata.<key>` equality, or the three range keys."""
    if filters is None:
        return {}
    if not isinstance(filters, Mapping):
        raise InvalidMemory("filters must be a mapping of field name to value")
    checked: dict[str, Any] = {}
    for key, value in filters.items():
        if key in _FILTER_FIELDS or (isinstance(key, str) and key.startswith("metadata.") and len(key) > 9):
            if not isinstance(value, Scalar):
                raise InvalidMemory(f"filter {key!r} needs a string, number, boolean or null value")
        elif key == "min_importance":
            value = _check_importance(value)
        elif key in ("occurred_after", "occurred_before"):
            value = utc(value)
        else:
            allowed = ", ".join((*_FILTER_FIELDS, *_FILTER_RANGES, "metadata.<key>"))
            raise InvalidMemory(f"unknown filter {str(key)[:40]!r}: use one of {allowed}")
        checked[key] = value
    return checked


def _matches(memory: Memory, key: str, value: Any) -> bool:
    if key == "min_importance":
        return memory.importance >= float(value)
    if key == "occurred_after":
        return memory.occurred_at is not None and memory.occurred_at >= value
    if key == "occurred_before":
        return memory.occurred_at is not None and memory.occurred_at < value
    if key.startswith("metadata."):
        return bool(memory.metadata.get(key[9:]) == value)
    return bool(getattr(memory, key) == value)


def matches_filters(memory: Memory, filters: Mapping[str, Any]) -> bool:
    return all(_matches(memory, key, value) for key, value in filters.items())


def _check_importance(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= float(value) <= 1.0:
        raise InvalidMemory("importance must be a number between 0 and 1")
    if math.isnan(float(value)):
        raise InvalidMemory("importance must be a number between 0 and 1")
    return float(value)


def check_importance(value: Any) -> float:
    return _check_importance(value)


def check_content(content: Any, settings: MemorySettings) -> str:
    if not isinstance(content, str) or not content.strip():
        raise InvalidMemory("content must be a non-empty string")
    size = len(content.encode("utf-8"))
    if size > settings.max_content_bytes:
        raise InvalidMemory(
            f"content is {size} bytes, over the {settings.max_content_bytes}-byte limit; split it"
        )
    return content


def check_k(k: Any, settings: MemorySettings) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= settings.max_k:
        raise InvalidMemory(f"k must be an integer from 1 to {settings.max_k}")
    return k


def sequence_of(values: Sequence[str] | str) -> tuple[str, ...]:
    return (values,) if isinstance(values, str) else tuple(values)
