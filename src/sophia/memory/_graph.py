"""The temporal knowledge graph in Sophia's own SQL store: writing extractions, reading an entity's edges, expanding.

Written in the same transaction as the memory it was read from. A relation that allows one value per side
(`SINGLE_SIDE`) closes the current edge it contradicts (`valid_until`, `closed_by`) instead of deleting it, so
`as_of` questions still see who owned what then. Every read is confined to the caller's namespaces.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from sophia.memory._graph_extract import SINGLE_SIDE, Extraction, entity_key
from sophia.memory._graph_schema import memory_edges, memory_entities, memory_mentions
from sophia.memory._model import Memory
from sophia.memory._schema import CHUNK, delete_in, memories

MAX_QUERY_GRAM = 4


@dataclass(frozen=True)
class GraphEdge:
    namespace: str
    subject: str
    relation: str
    object: str
    valid_from: datetime
    valid_until: datetime | None
    source_memory_id: str
    closed_by: str | None

    def valid_at(self, moment: datetime) -> bool:
        return self.valid_from <= moment and (self.valid_until is None or self.valid_until > moment)


@dataclass(frozen=True)
class EntityView:
    """One entity as a namespace knows it: its edges (history included) and the memories that mention it."""

    namespace: str
    name: str
    type: str
    edges: tuple[GraphEdge, ...]
    mentioned_in: tuple[str, ...]


def _insert(conn: AsyncConnection, table: sa.Table) -> sa.Insert:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt: sa.Insert = dialect.insert(table).on_conflict_do_nothing()
    return stmt


async def entity_ids(
    conn: AsyncConnection, namespace: str, extractions: Iterable[Extraction], now: datetime
) -> dict[str, str]:
    """Key -> id for every entity of `extractions` in `namespace`, creating the missing ones (race-safe)."""
    wanted = {e.key: e for x in extractions for e in x.all_entities() if e.key}
    if not wanted:
        return {}
    rows = [
        {
            "id": uuid.uuid4().hex,
            "namespace": namespace,
            "key": k,
            "name": e.name,
            "type": e.type,
            "created_at": now,
        }
        for k, e in wanted.items()
    ]
    await conn.execute(_insert(conn, memory_entities), rows)
    found: dict[str, str] = {}
    keys = list(wanted)
    for start in range(0, len(keys), CHUNK):
        stmt = sa.select(memory_entities.c.key, memory_entities.c.id).where(
            memory_entities.c.namespace == namespace, memory_entities.c.key.in_(keys[start : start + CHUNK])
        )
        found.update({row.key: row.id for row in await conn.execute(stmt)})
    return found


async def write_extractions(conn: AsyncConnection, written: Sequence[tuple[Memory, Extraction]]) -> int:
    """Store what each memory says (a few statements per namespace, not per memory); returns the edges added.

    Contradicted edges are closed, not deleted.
    """
    by_namespace: dict[str, list[tuple[Memory, Extraction]]] = {}
    for memory, extraction in written:
        by_namespace.setdefault(memory.namespace, []).append((memory, extraction))
    added = 0
    for namespace, pairs in by_namespace.items():
        ids = await entity_ids(conn, namespace, [x for _, x in pairs], pairs[0][0].created_at)
        mentions = {
            (memory.id, ids[e.key]): {"memory_id": memory.id, "entity_id": ids[e.key], "namespace": namespace}
            for memory, extraction in pairs
            for e in extraction.all_entities()
            if e.key in ids
        }
        if mentions:
            await conn.execute(_insert(conn, memory_mentions), list(mentions.values()))
        for memory, extraction in pairs:
            added += await _write_relations(conn, memory, extraction, ids)
    return added


async def _write_relations(
    conn: AsyncConnection, memory: Memory, extraction: Extraction, ids: dict[str, str]
) -> int:
    when = memory.occurred_at or memory.valid_from
    added = 0
    for relation in dict.fromkeys(extraction.relations):
        subject, obj = ids[relation.subject.key], ids[relation.object.key]
        if subject == obj or await _current_edge(conn, memory.namespace, subject, relation.relation, obj):
            continue
        await _close_contradicted(conn, memory, subject, relation.relation, obj, when)
        await conn.execute(
            sa.insert(memory_edges).values(
                id=uuid.uuid4().hex,
                namespace=memory.namespace,
                subject_id=subject,
                relation=relation.relation,
                object_id=obj,
                valid_from=when,
                valid_until=None,
                source_memory_id=memory.id,
                closed_by=None,
                created_at=memory.created_at,
            )
        )
        added += 1
    return added


async def _current_edge(conn: AsyncConnection, namespace: str, subject: str, relation: str, obj: str) -> bool:
    e = memory_edges.c
    stmt = sa.select(e.id).where(
        e.namespace == namespace, e.subject_id == subject, e.relation == relation, e.object_id == obj,
        e.valid_until.is_(None),
    )  # fmt: skip
    return (await conn.execute(stmt.limit(1))).first() is not None


async def _close_contradicted(
    conn: AsyncConnection, memory: Memory, subject: str, relation: str, obj: str, when: datetime
) -> None:
    side = SINGLE_SIDE.get(relation)
    if side is None:
        return
    e = memory_edges.c
    same, other = (
        (e.subject_id == subject, e.object_id != obj)
        if side == "subject"
        else (e.object_id == obj, e.subject_id != subject)
    )
    await conn.execute(
        sa.update(memory_edges)
        .where(e.namespace == memory.namespace, e.relation == relation, same, other, e.valid_until.is_(None))
        .values(valid_until=when, closed_by=memory.id)
    )


async def forget_sources(conn: AsyncConnection, memory_ids: Sequence[str], when: datetime | None) -> None:
    """A forgotten memory takes its graph with it: closed at `when` (soft), or deleted with its mentions (hard)."""
    if when is None:
        await delete_in(conn, memory_edges, "source_memory_id", memory_ids)
        await delete_in(conn, memory_mentions, "memory_id", memory_ids)
        return
    for start in range(0, len(memory_ids), CHUNK):
        chunk = memory_ids[start : start + CHUNK]
        await conn.execute(
            sa.update(memory_edges)
            .where(memory_edges.c.source_memory_id.in_(chunk), memory_edges.c.valid_until.is_(None))
            .values(valid_until=when)
        )


def query_keys(query: str) -> list[str]:
    """Every 1..4-word run of the query, as entity keys: lower-case questions still find "Acme Corp"."""
    words = [w.strip("?!.,;:'\"()") for w in query.split()]
    words = [w for w in words if w]
    grams = {
        entity_key(" ".join(words[i : i + n]))
        for n in range(1, MAX_QUERY_GRAM + 1)
        for i in range(len(words) - n + 1)
    }
    return sorted(g for g in grams if len(g) >= 2)


async def _entities_named(
    conn: AsyncConnection, keys: Sequence[str], namespaces: Sequence[str]
) -> dict[str, Any]:
    if not keys:
        return {}
    t = memory_entities.c
    stmt = sa.select(t.id, t.namespace, t.name, t.type).where(
        t.namespace.in_(namespaces), t.key.in_(list(keys))
    )
    return {row.id: row for row in await conn.execute(stmt)}


async def _edges_touching(
    conn: AsyncConnection, ids: Iterable[str], namespaces: Sequence[str]
) -> list[sa.RowMapping]:
    wanted = list(ids)
    if not wanted:
        return []
    e, s, o = memory_edges.c, memory_entities.alias("s"), memory_entities.alias("o")
    stmt = (
        sa.select(*e, s.c.name.label("subject_name"), o.c.name.label("object_name"))
        .join(s, s.c.id == e.subject_id)
        .join(o, o.c.id == e.object_id)
        .where(e.namespace.in_(namespaces), sa.or_(e.subject_id.in_(wanted), e.object_id.in_(wanted)))
        .order_by(e.valid_from, e.created_at)
    )
    return list((await conn.execute(stmt)).mappings())


def _edge(row: sa.RowMapping) -> GraphEdge:
    return GraphEdge(
        row["namespace"], row["subject_name"], row["relation"], row["object_name"], row["valid_from"],
        row["valid_until"], row["source_memory_id"], row["closed_by"],
    )  # fmt: skip


async def entity_views(conn: AsyncConnection, name: str, namespaces: Sequence[str]) -> list[EntityView]:
    """The entity called `name` in each of `namespaces` that has one, with every edge it is an end of."""
    found = await _entities_named(conn, [entity_key(name)], namespaces)
    views = []
    for entity_id, row in sorted(found.items(), key=lambda item: item[1].namespace):
        edges = [_edge(r) for r in await _edges_touching(conn, [entity_id], [row.namespace])]
        m = memory_mentions.c
        stmt = sa.select(m.memory_id).where(m.entity_id == entity_id, m.namespace == row.namespace)
        mentioned = tuple(r.memory_id for r in await conn.execute(stmt))
        views.append(EntityView(row.namespace, row.name, row.type, tuple(edges), mentioned))
    return views


async def expansion_ids(
    conn: AsyncConnection, query: str, namespaces: Sequence[str], moment: datetime, limit: int
) -> list[tuple[str, str]]:
    """(memory id, the entity it came through) one hop out from the entities the query names, newest first.

    "who owns the Acme account" -> Acme -> (Dana owns Acme) -> the edge's memory, then what mentions Dana.
    """
    named = await _entities_named(conn, query_keys(query), namespaces)
    if not named:
        return []
    edges = [r for r in await _edges_touching(conn, named, namespaces) if _edge(r).valid_at(moment)]
    via: dict[str, str] = {}
    for row in edges:
        far = row["object_id"] if row["subject_id"] in named else row["subject_id"]
        via.setdefault(far, row["object_name"] if far == row["object_id"] else row["subject_name"])
    found = [(row["source_memory_id"], via.get(row["object_id"], row["object_name"])) for row in edges]
    if via:
        m = memory_mentions.c
        stmt = (
            sa.select(m.memory_id, m.entity_id)
            .join(memories, memories.c.id == m.memory_id)
            .where(m.entity_id.in_(list(via)), m.namespace.in_(namespaces))
            .order_by(sa.func.coalesce(memories.c.occurred_at, memories.c.created_at).desc())
            .limit(limit * 3)
        )
        found += [(r.memory_id, via[r.entity_id]) for r in await conn.execute(stmt)]
    first: dict[str, str] = {}
    for memory_id, through in found:
        first.setdefault(memory_id, through)
    return list(first.items())[: limit * 3]
