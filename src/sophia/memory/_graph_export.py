"""The temporal graph written out for Neo4j: a Cypher script of MERGE statements, or GraphML.

No Neo4j server or driver is needed to write either: the Cypher script runs with `cypher-shell -f FILE` (or the
`neo4j` driver, one statement at a time) and MERGEs on ids, so running it twice changes nothing. Each edge keeps
its namespace, valid-from/until, the memory it came from and the memory that closed it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from xml.sax.saxutils import escape, quoteattr

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from sophia.memory._graph_schema import memory_edges, memory_entities

__all__ = ["EXPORT_FORMATS", "GraphDump", "graph_dump", "to_cypher", "to_graphml"]

EXPORT_FORMATS = ("cypher", "graphml")
_NOT_IDENTIFIER = re.compile(r"[^A-Za-z0-9_]+")
_LINE_BREAKS = frozenset("\x85\u2028\u2029")  # str.splitlines breaks there too
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class DumpedEntity:
    id: str
    namespace: str
    name: str
    type: str


@dataclass(frozen=True)
class DumpedEdge:
    id: str
    namespace: str
    subject_id: str
    relation: str
    object_id: str
    valid_from: datetime
    valid_until: datetime | None
    source_memory_id: str
    closed_by: str | None


@dataclass(frozen=True)
class GraphDump:
    entities: tuple[DumpedEntity, ...]
    edges: tuple[DumpedEdge, ...]


async def graph_dump(conn: AsyncConnection, namespaces: Sequence[str]) -> GraphDump:
    """Every entity and edge (closed ones too) of `namespaces`, in a stable order."""
    t, e = memory_entities.c, memory_edges.c
    entities = await conn.execute(
        sa.select(t.id, t.namespace, t.name, t.type).where(t.namespace.in_(namespaces)).order_by(t.id)
    )
    edges = await conn.execute(
        sa.select(
            e.id,
            e.namespace,
            e.subject_id,
            e.relation,
            e.object_id,
            e.valid_from,
            e.valid_until,
            e.source_memory_id,
            e.closed_by,
        )  # fmt: skip
        .where(e.namespace.in_(namespaces))
        .order_by(e.valid_from, e.id)
    )
    return GraphDump(tuple(DumpedEntity(*row) for row in entities), tuple(DumpedEdge(*row) for row in edges))


def cypher_string(value: str) -> str:
    """A Cypher string literal on one line: backslash, quote, control and line-break characters escaped."""
    out = value.replace("\\", "\\\\").replace("'", "\\'")
    out = out.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return "'" + "".join(f"\\u{ord(c):04x}" if c < " " or c in _LINE_BREAKS else c for c in out) + "'"


def _cypher_value(value: str | datetime | None) -> str:
    if value is None:
        return "null"
    if isinstance(value, datetime):
        return f"datetime({cypher_string(value.isoformat())})"
    return cypher_string(value)


def relationship_type(relation: str) -> str:
    """`works at` -> WORKS_AT: relation names as Neo4j relationship types (the raw name is a property too)."""
    cleaned = _NOT_IDENTIFIER.sub("_", relation).strip("_").upper()
    return cleaned if cleaned and not cleaned[0].isdigit() else f"R_{cleaned}"


def to_cypher(dump: GraphDump) -> str:
    lines = [
        "// Sophia temporal graph export: MERGE on ids, safe to run again.",
        "CREATE CONSTRAINT sophia_entity_id IF NOT EXISTS FOR (n:Entity) REQUIRE n.id IS UNIQUE;",
    ]
    for n in dump.entities:
        lines.append(
            f"MERGE (n:Entity {{id: {cypher_string(n.id)}}}) SET n.namespace = {cypher_string(n.namespace)}, "
            f"n.name = {cypher_string(n.name)}, n.type = {cypher_string(n.type)};"
        )
    for r in dump.edges:
        props: dict[str, str | datetime | None] = {
            "namespace": r.namespace,
            "relation": r.relation,
            "valid_from": r.valid_from,
            "valid_until": r.valid_until,
            "source_memory_id": r.source_memory_id,
            "closed_by": r.closed_by,
        }
        assigned = ", ".join(f"r.{k} = {_cypher_value(v)}" for k, v in props.items())
        lines.append(
            f"MATCH (s:Entity {{id: {cypher_string(r.subject_id)}}}), (o:Entity {{id: {cypher_string(r.object_id)}}}) "
            f"MERGE (s)-[r:{relationship_type(r.relation)} {{id: {cypher_string(r.id)}}}]->(o) SET {assigned};"
        )
    return "\n".join(lines) + "\n"


_NODE_KEYS = ("namespace", "name", "type")
_EDGE_KEYS = ("namespace", "relation", "valid_from", "valid_until", "source_memory_id", "closed_by")


def _xml(text: str) -> str:
    """Element text: characters XML 1.0 cannot hold at all are dropped, the rest escaped."""
    return escape(_NOT_XML.sub("", text))


def to_graphml(dump: GraphDump) -> str:
    """GraphML (Neo4j's apoc.import.graphml, Gephi, networkx): string attributes, dates in ISO 8601."""
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<graphml xmlns="http://graphml.graphdrawing.org/xmlns">',
    ]
    out += [f'  <key id="n_{k}" for="node" attr.name="{k}" attr.type="string"/>' for k in _NODE_KEYS]
    out += [f'  <key id="e_{k}" for="edge" attr.name="{k}" attr.type="string"/>' for k in _EDGE_KEYS]
    out.append('  <graph id="sophia" edgedefault="directed">')
    for n in dump.entities:
        out.append(f"    <node id={quoteattr(n.id)}>")
        out += [f'      <data key="n_{k}">{_xml(getattr(n, k))}</data>' for k in _NODE_KEYS]
        out.append("    </node>")
    for r in dump.edges:
        out.append(
            f"    <edge id={quoteattr(r.id)} source={quoteattr(r.subject_id)} target={quoteattr(r.object_id)}>"
        )
        for k in _EDGE_KEYS:
            value = getattr(r, k)
            if value is not None:
                text = value.isoformat() if isinstance(value, datetime) else str(value)
                out.append(f'      <data key="e_{k}">{_xml(text)}</data>')
        out.append("    </edge>")
    out += ["  </graph>", "</graphml>"]
    return "\n".join(out) + "\n"
