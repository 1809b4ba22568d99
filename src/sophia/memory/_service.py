"""`MemoryService`: remember, recall, update, forget, ingest — one object over L1 cache, L2 indexes, L3 rows.

Writes go to the rows (with their vector) and the keyword index in one transaction; the vector index and cache
are updated after commit, and on start the vector index is repaired from the rows, so an acknowledged write is
never lost and never invisible. Rows written by another embedding model are re-embedded by `start()`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from sophia.memory._cache import LruRecallCache, RecallCache
from sophia.memory._changes import record_change
from sophia.memory._code import CodeSymbol, check_repo
from sophia.memory._embedding import Embedder
from sophia.memory._errors import InvalidMemory, MemoryNotFound
from sophia.memory._graph import forget_sources, write_extractions
from sophia.memory._graph_extract import Extraction, GraphExtractor, GraphOutputRefused, RuleGraphExtractor
from sophia.memory._graph_reads import GraphReads
from sophia.memory._keyword import KeywordIndex, SqliteKeywordIndex
from sophia.memory._learn import LEARNED_KINDS, FactLearner, LearnReport
from sophia.memory._model import (
    Memory,
    MemoryKind,
    MemorySettings,
    RecallHit,
    Scope,
    Turn,
    check_content,
    check_filters,
    check_importance,
    check_k,
    check_kind,
    check_kinds,
    check_namespace,
    check_namespaces,
    matches_filters,
    now_utc,
    utc,
)
from sophia.memory._pg_keyword import PostgresKeywordIndex
from sophia.memory._ranking import NEIGHBOUR_SOURCES, Gathered, neighbour_keys, rank_gathered
from sophia.memory._rows import fetch_memories, fetch_turns
from sophia.memory._schema import memories, memory_to_row, search_text_of
from sophia.memory._vector import F32, NumpyVectorIndex, VectorIndex
from sophia.memory._versions import Draft, VersionWrites, vector_entry
from sophia.store import Database, storage_errors

log = logging.getLogger("sophia.memory")

_MAX_METADATA_DEPTH_HINT = "metadata must be a JSON object of plain values"


class MemoryService(GraphReads, VersionWrites):
    """The one entry point to memory. Callers pass the namespaces the user may read; nothing else shows."""

    def __init__(
        self,
        database: Database,
        embedder: Embedder,
        *,
        vector_index: VectorIndex | None = None,
        keyword_index: KeywordIndex | None = None,
        cache: RecallCache | None = None,
        settings: MemorySettings | None = None,
        index_path: Path | None = None,
        graph_extractor: GraphExtractor | None = None,
        fact_learner: FactLearner | None = None,
    ) -> None:
        self.database = database
        self.embedder = embedder
        self.settings = settings or MemorySettings()
        # `is None`, not `or`: an empty index or cache has len() 0 and would be silently replaced
        self.vector: VectorIndex = (
            vector_index
            if vector_index is not None
            else NumpyVectorIndex(embedder.dimensions, index_path, model_id=embedder.model_id)
        )
        self.keyword: KeywordIndex = keyword_index or default_keyword_index(database)
        self.cache: RecallCache = cache if cache is not None else LruRecallCache(self.settings.cache_size)
        self._pending_access: dict[str, int] = {}
        self.fact_learner = fact_learner
        self.graph_extractor: GraphExtractor | None = (
            graph_extractor or RuleGraphExtractor() if self.settings.graph else None
        )
        self.resources: list[Any] = []
        """Clients `close()` also closes (`aclose()`): the Redis or Qdrant connections `open_memory` made."""
        self._start_coherence()

    @classmethod
    async def open(cls, database: Database, embedder: Embedder, **options: Any) -> MemoryService:
        """Build the service and bring its indexes in line with the rows (see `start`)."""
        service = cls(database, embedder, **options)
        await service.start()
        return service

    # ----------------------------------------------------------------------------------------------- writes

    async def remember(
        self,
        content: str,
        *,
        namespace: str,
        kind: str | MemoryKind = MemoryKind.FACT,
        metadata: Mapping[str, Any] | None = None,
        importance: float = 0.5,
        source: str | None = None,
        valid_from: datetime | None = None,
        ttl: timedelta | None = None,
        speaker: str | None = None,
        session_id: str | None = None,
        occurred_at: datetime | None = None,
        turn_index: int | None = None,
    ) -> str:
        """Store one memory and return its id; every check runs before anything is written."""
        draft = self._draft(
            content,
            namespace=namespace,
            kind=kind,
            metadata=metadata,
            importance=importance,
            source=source,
            valid_from=valid_from,
            ttl=ttl,
            speaker=speaker,
            session_id=session_id,
            occurred_at=occurred_at,
            turn_index=turn_index,
        )
        (memory_id,) = await self._write([draft])
        return memory_id

    async def ingest_conversation(
        self,
        turns: Sequence[Turn],
        *,
        namespace: str,
        session_id: str,
        source: str | None = None,
        importance: float = 0.5,
        first_index: int = 0,
    ) -> list[str]:
        """Store a session's turns in order, with speaker, time and position (for neighbour context)."""
        drafts = [
            self._draft(
                turn.content,
                namespace=namespace,
                kind=MemoryKind.CONVERSATION,
                metadata=turn.metadata,
                importance=importance,
                source=source,
                speaker=turn.speaker,
                session_id=session_id,
                occurred_at=turn.occurred_at,
                turn_index=first_index + i,
            )
            for i, turn in enumerate(turns)
        ]
        ids = await self._write(drafts)
        if self.fact_learner is not None and turns:
            await self.learn(turns, namespace=namespace, source=f"learned:{session_id}")
        return ids

    async def learn(self, turns: Sequence[Turn], *, namespace: str, source: str | None = None) -> LearnReport:
        """Facts and preferences the configured model reads out of `turns`, applied as add-only versions.

        A refused answer (bad shape, a gateway failure) changes nothing and is reported, never raised: the
        conversation itself is already stored.
        """
        if self.fact_learner is None:
            raise InvalidMemory(
                "no model is configured to learn from conversations: set [memory] facts_model"
            )
        conversation = "\n".join(f"{t.speaker}: {t.content}" for t in turns)[
            : self.settings.max_content_bytes // 2
        ]
        known = [
            h.memory for h in await self.recall(conversation, namespace, kinds=list(LEARNED_KINDS), k=10)
        ]
        try:
            decisions = await self.fact_learner.decide(conversation, known)
        except GraphOutputRefused as refusal:
            log.warning("memory: learned nothing from the conversation: %s", refusal)
            return LearnReport(refused=True)
        added, updated, deleted = [], [], []
        for d in decisions:
            if d.event == "ADD":
                added.append(await self.remember(d.text, namespace=namespace, kind=d.kind, source=source))
            elif d.event == "UPDATE" and d.target is not None:
                updated.append(await self.update(d.target.id, d.text, namespaces=namespace))
            elif d.event == "DELETE" and d.target is not None:
                await self.forget(d.target.id, namespaces=namespace)
                deleted.append(d.target.id)
        return LearnReport(tuple(added), tuple(updated), tuple(deleted))

    async def update(
        self,
        memory_id: str,
        content: str,
        *,
        namespaces: Sequence[str] | str,
        metadata: Mapping[str, Any] | None = None,
        importance: float | None = None,
    ) -> str:
        """Write a new version superseding `memory_id`, close the old one's validity; return the new id."""
        old = await self.get(memory_id, namespaces=namespaces)
        if old.valid_until is not None:
            raise InvalidMemory(f"memory {memory_id} is no longer current; update its newest version instead")
        draft = self._draft(
            content,
            namespace=old.namespace,
            kind=old.kind,
            metadata=old.metadata if metadata is None else metadata,
            importance=old.importance if importance is None else importance,
            source=old.source,
            speaker=old.speaker,
            session_id=old.session_id,
            occurred_at=old.occurred_at,
            turn_index=old.turn_index,
            expires_at=old.expires_at,
        )
        draft = replace(draft, memory=replace(draft.memory, supersedes=old.id))
        (new_id,) = await self._write([draft], supersede=old)
        return new_id

    def _draft(
        self,
        content: str,
        *,
        namespace: str,
        kind: str | MemoryKind,
        metadata: Mapping[str, Any] | None,
        importance: float,
        source: str | None,
        speaker: str | None,
        session_id: str | None,
        occurred_at: datetime | None,
        turn_index: int | None,
        valid_from: datetime | None = None,
        ttl: timedelta | None = None,
        expires_at: datetime | None = None,
    ) -> Draft:
        now = now_utc()
        if ttl is not None:
            if ttl <= timedelta(0):
                raise InvalidMemory("ttl must be a positive duration")
            expires_at = now + ttl
        memory = Memory(
            id=uuid.uuid4().hex,
            namespace=check_namespace(namespace),
            kind=check_kind(kind),
            content=check_content(content, self.settings),
            metadata=self._check_metadata(metadata),
            importance=check_importance(importance),
            source=_short(source, "source", 200),
            created_at=now,
            valid_from=utc(valid_from) or now,
            expires_at=expires_at,
            embedding_model=self.embedder.model_id,
            speaker=_short(speaker, "speaker", 120),
            session_id=_short(session_id, "session_id", 120),
            occurred_at=utc(occurred_at),
            turn_index=turn_index,
        )
        return Draft(memory, search_text_of(memory), self._embed_text(memory))

    def _check_metadata(self, metadata: Mapping[str, Any] | None) -> dict[str, Any]:
        if metadata is None:
            return {}
        if not isinstance(metadata, Mapping):
            raise InvalidMemory(_MAX_METADATA_DEPTH_HINT)
        try:
            encoded = json.dumps(dict(metadata), allow_nan=False)
        except (TypeError, ValueError):
            raise InvalidMemory(
                f"{_MAX_METADATA_DEPTH_HINT} (strings, numbers, booleans, lists, objects)"
            ) from None
        if len(encoded.encode()) > self.settings.max_metadata_bytes:
            raise InvalidMemory(f"metadata is over the {self.settings.max_metadata_bytes}-byte limit")
        loaded: dict[str, Any] = json.loads(encoded)
        return loaded

    def _embed_text(self, memory: Memory) -> str:
        """The text the vector is computed from: the turn with who said it and (optionally) when."""
        text = memory.content
        if memory.speaker and self.settings.embed_speaker:
            text = f"{memory.speaker}: {text}"
        if memory.occurred_at is not None and self.settings.embed_date:
            text = f"[{memory.occurred_at:%d %B %Y}] {text}"
        return text

    async def _embed(self, texts: Sequence[str]) -> F32:
        return await asyncio.to_thread(self.embedder.embed, list(texts))

    async def _write(self, drafts: Sequence[Draft], supersede: Memory | None = None) -> list[str]:
        if not drafts:
            return []
        vectors = await self._embed([d.embed_text for d in drafts])
        extractions = await self._extract(drafts)
        rows = [memory_to_row(d.memory, d.search_text, v) for d, v in zip(drafts, vectors, strict=True)]
        with storage_errors(self.database.url):
            async with self.database.engine.begin() as conn:
                if supersede is not None:
                    closed = await conn.execute(
                        sa.update(memories)
                        .where(memories.c.id == supersede.id, memories.c.valid_until.is_(None))
                        .values(valid_until=drafts[0].memory.valid_from)
                    )
                    if closed.rowcount != 1:
                        raise InvalidMemory(
                            f"memory {supersede.id} was updated concurrently; retry the update"
                        )
                await conn.execute(sa.insert(memories), rows)
                if supersede is not None:
                    await forget_sources(conn, [supersede.id], drafts[0].memory.valid_from)
                await write_extractions(
                    conn, [(d.memory, x) for d, x in zip(drafts, extractions, strict=True)]
                )
                await self.keyword.add(
                    conn, [(d.memory.id, d.memory.namespace, d.search_text) for d in drafts]
                )
                await self._flush_access(conn)
                namespaces = sorted({d.memory.namespace for d in drafts})
                touched = [d.memory.id for d in drafts] + ([supersede.id] if supersede else [])
                generation = await record_change(conn, namespaces, touched, drafts[0].memory.created_at)

        async def apply() -> None:
            if supersede is not None:
                await self.vector.close_validity([supersede.id], drafts[0].memory.valid_from)
            await self.vector.add([vector_entry(d.memory, v) for d, v in zip(drafts, vectors, strict=True)])
            await self.cache.invalidate(namespaces, [supersede.id] if supersede else [])

        await self._after_commit(generation, apply)
        return [d.memory.id for d in drafts]

    async def index_code(
        self, symbols: Sequence[CodeSymbol], *, repo: str, namespace: str, batch: int = 500
    ) -> tuple[int, int]:
        """Replace `repo`'s code memories in `namespace` with `symbols`; returns (forgotten, remembered)."""
        repo = check_repo(repo)
        drafts = [
            self._draft(
                s.content(repo),
                namespace=namespace,
                kind=MemoryKind.CODE,
                metadata=s.metadata(repo),
                importance=0.5,
                source=f"code:{repo}"[:200],
                speaker=None,
                session_id=None,
                occurred_at=None,
                turn_index=None,
            )
            for s in symbols
        ]  # every draft is checked before the old index is dropped
        forgotten = await self.forget(
            namespaces=namespace, kinds=[MemoryKind.CODE], filters={"metadata.repo": repo}, hard=True
        )
        for start in range(0, len(drafts), batch):
            await self._write(drafts[start : start + batch])
        return forgotten, len(drafts)

    async def _extract(self, drafts: Sequence[Draft]) -> list[Extraction]:
        """What the graph learns from each draft, read before the transaction (a model call may be slow)."""
        if self.graph_extractor is None:
            return [Extraction() for _ in drafts]
        return [await self.graph_extractor.extract(d.memory.content, d.memory.speaker) for d in drafts]

    # ------------------------------------------------------------------------------------------------ reads

    async def get(self, memory_id: str, *, namespaces: Sequence[str] | str) -> Memory:
        """One memory by id, only if it lives in one of `namespaces` (otherwise it does not exist for you)."""
        allowed = check_namespaces(namespaces)
        await self.catch_up()
        memory = await self.cache.get_memory(memory_id)
        if memory is None:
            async with self.database.engine.connect() as conn:
                memory = (await fetch_memories(conn, [memory_id])).get(memory_id)
            if memory is not None:
                await self.cache.put_memory(memory)
        if memory is None or memory.namespace not in allowed:
            raise MemoryNotFound(f"no memory {memory_id[:40]!r} in the namespaces you may read")
        return memory

    async def recall(
        self,
        query: str,
        namespaces: Sequence[str] | str,
        kinds: Sequence[str | MemoryKind] | None = None,
        k: int = 10,
        filters: Mapping[str, Any] | None = None,
        as_of: datetime | None = None,
        expand_graph: bool = False,
    ) -> list[RecallHit]:
        """Hybrid recall confined to `namespaces`: BM25 + vectors fused by weighted RRF, then re-scored.

        With `expand_graph`, up to `k` more hits follow the direct ones: memories one graph hop from the entities
        the query names (the edge's own memory, then the newest that mention the entity at its other end).
        """
        if not isinstance(query, str) or not query.strip():
            raise InvalidMemory("the recall query must be a non-empty string")
        check_content(query, self.settings)
        scope = Scope(check_namespaces(namespaces), check_kinds(kinds), utc(as_of), now_utc())
        k, checked_filters = check_k(k, self.settings), check_filters(filters)
        key = _cache_key(query, scope, k, checked_filters) + ("+graph" if expand_graph else "")
        await self.catch_up()
        cached = await self.cache.get_recall(key)
        if cached is not None:
            self._note_access(cached)
            return cached
        query_vector = (await self._embed([query]))[0]
        hits = await self.recall_with_vector(query, query_vector, scope, k, checked_filters)
        if expand_graph:
            hits += await self._graph_hits(query, scope, k, checked_filters, {h.memory.id for h in hits})
        await self.cache.put_recall(key, scope.namespaces, hits)
        self._note_access(hits)
        return hits

    async def recall_with_vector(
        self, query: str, query_vector: F32, scope: Scope, k: int, filters: Mapping[str, Any]
    ) -> list[RecallHit]:
        """The retrieval pipeline after the query is embedded (the benchmark times this part on its own)."""
        gathered = await self.gather(query, query_vector, scope, k, bool(filters))
        ranked = rank_gathered(gathered, query, self.settings, scope.now)
        return [hit for hit in ranked if matches_filters(hit.memory, filters)][:k]

    async def gather(
        self, query: str, query_vector: F32, scope: Scope, k: int, filtered: bool = False
    ) -> Gathered:
        """The reads of recall: keyword and vector candidates, their rows and their neighbouring turns."""
        pool = max(self.settings.candidate_pool, 3 * k) * (3 if filtered else 1)
        vector_hits = (
            await self.vector.search(query_vector, scope, pool) if self.settings.vector_weight else []
        )
        with storage_errors(self.database.url):
            async with self.database.engine.connect() as conn:
                keyword_hits = (
                    await self.keyword.search(conn, query, scope, pool)
                    if self.settings.keyword_weight
                    else []
                )
                ids = dict.fromkeys([i for i, _ in keyword_hits] + [i for i, _ in vector_hits])
                found = await fetch_memories(conn, ids, scope)
                if self.settings.neighbour_weight > 0:
                    sources = max(NEIGHBOUR_SOURCES, k)
                    best = [i for i, _ in keyword_hits[:sources]] + [i for i, _ in vector_hits[:sources]]
                    keys = neighbour_keys(
                        (found[i] for i in best if i in found), self.settings.neighbour_window
                    )
                    found.update(await fetch_turns(conn, keys, scope))
        return Gathered(keyword_hits, vector_hits, found)

    def _note_access(self, hits: Sequence[RecallHit]) -> None:
        for hit in hits:
            self._pending_access[hit.memory.id] = self._pending_access.get(hit.memory.id, 0) + 1


def default_keyword_index(database: Database) -> KeywordIndex:
    """FTS5 on SQLite, tsvector + GIN on PostgreSQL: the full-text index lives beside the rows it indexes."""
    if database.engine.dialect.name == "postgresql":
        return PostgresKeywordIndex()
    return SqliteKeywordIndex()


def _short(value: str | None, name: str, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise InvalidMemory(f"{name} must be a string of at most {limit} characters")
    return value


def _cache_key(query: str, scope: Scope, k: int, filters: Mapping[str, Any]) -> str:
    return json.dumps(
        [query, scope.namespaces, scope.kinds, k, sorted(filters.items()), scope.as_of],
        default=str,
        separators=(",", ":"),
    )
