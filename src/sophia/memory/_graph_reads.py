"""The part of `MemoryService` that reads the temporal graph: an entity's view, recall's graph hop, the export."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sophia.memory._errors import InvalidMemory
from sophia.memory._graph import EntityView, entity_views, expansion_ids
from sophia.memory._graph_export import EXPORT_FORMATS, graph_dump, to_cypher, to_graphml
from sophia.memory._model import (
    MemorySettings,
    RecallHit,
    RecallReasons,
    Scope,
    check_namespaces,
    matches_filters,
)
from sophia.memory._rows import fetch_memories
from sophia.store import Database, storage_errors

__all__ = ["GraphReads"]


class GraphReads:
    database: Database
    settings: MemorySettings

    async def graph(self, name: str, *, namespaces: Sequence[str] | str) -> list[EntityView]:
        """The entity called `name` in each readable namespace: its edges (closed ones too) and its mentions."""
        allowed = check_namespaces(namespaces)
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            raise InvalidMemory("the entity name must be a non-empty string of at most 200 characters")
        with storage_errors(self.database.url):
            async with self.database.engine.connect() as conn:
                return await entity_views(conn, name, allowed)

    async def graph_export(self, *, namespaces: Sequence[str] | str, format: str) -> str:
        """The whole graph of the readable namespaces as a Neo4j Cypher script (`cypher`) or GraphML."""
        allowed = check_namespaces(namespaces)
        if format not in EXPORT_FORMATS:
            raise InvalidMemory(f"the graph export format must be one of {', '.join(EXPORT_FORMATS)}")
        with storage_errors(self.database.url):
            async with self.database.engine.connect() as conn:
                dump = await graph_dump(conn, allowed)
        return to_cypher(dump) if format == "cypher" else to_graphml(dump)

    async def _graph_hits(
        self, query: str, scope: Scope, k: int, filters: Mapping[str, Any], seen: set[str]
    ) -> list[RecallHit]:
        with storage_errors(self.database.url):
            async with self.database.engine.connect() as conn:
                via = dict(await expansion_ids(conn, query, scope.namespaces, scope.moment, k))
                found = await fetch_memories(conn, [i for i in via if i not in seen], scope)
        hits = []
        ordered = [found[i] for i in via if i in found and matches_filters(found[i], filters)]
        for rank, memory in enumerate(ordered, start=1):
            memory_id = memory.id
            score = 1.0 / (self.settings.rrf_k + rank)
            reasons = RecallReasons(
                None, None, None, None, 0.0, 0.0, 0.0, memory.importance, 0.0, score, via[memory_id]
            )
            hits.append(RecallHit(memory=memory, score=score, reasons=reasons))
        return hits[:k]
