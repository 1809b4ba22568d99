"""The graph's Neo4j export: a Cypher script of MERGEs and GraphML, read back by parsing them (no Neo4j here)."""

from __future__ import annotations

import asyncio
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from sophia.cli._memory import app
from sophia.memory import InvalidMemory, MemoryService
from sophia.memory._graph_export import (
    DumpedEdge,
    DumpedEntity,
    GraphDump,
    cypher_string,
    to_cypher,
    to_graphml,
)
from sophia.store import upgrade

runner = CliRunner()
GML = "{http://graphml.graphdrawing.org/xmlns}"
_LITERAL = r"'(?:[^'\\]|\\.)*'"
_VALUE = rf"(?:datetime\({_LITERAL}\)|{_LITERAL}|null)"
_NODE = re.compile(
    rf"^MERGE \(n:Entity \{{id: ({_LITERAL})\}}\) SET n\.namespace = ({_LITERAL}), "
    rf"n\.name = ({_LITERAL}), n\.type = ({_LITERAL});$"
)
_EDGE = re.compile(
    rf"^MATCH \(s:Entity \{{id: ({_LITERAL})\}}\), \(o:Entity \{{id: ({_LITERAL})\}}\) "
    rf"MERGE \(s\)-\[r:([A-Z_][A-Z0-9_]*) \{{id: ({_LITERAL})\}}\]->\(o\) SET ((?:r\.\w+ = {_VALUE}(?:, )?)+);$"
)
_ASSIGNMENT = re.compile(rf"r\.(\w+) = ({_VALUE})")
_ESCAPES = {"\\": "\\", "'": "'", "n": "\n", "r": "\r", "t": "\t"}


def literal(text: str) -> str:
    """Decode one Cypher string literal the way Neo4j does (the escapes the exporter writes)."""
    assert text[0] == text[-1] == "'"
    out, i, body = [], 0, text[1:-1]
    while i < len(body):
        if body[i] != "\\":
            out.append(body[i])
            i += 1
        elif body[i + 1] == "u":
            out.append(chr(int(body[i + 2 : i + 6], 16)))
            i += 6
        else:
            out.append(_ESCAPES[body[i + 1]])
            i += 2
    return "".join(out)


def value(text: str) -> str | datetime | None:
    if text == "null":
        return None
    if text.startswith("datetime("):
        return datetime.fromisoformat(literal(text[len("datetime(") : -1]))
    return literal(text)


def parse_cypher(script: str) -> tuple[dict[str, dict[str, str]], list[dict[str, object]]]:
    """Every statement must be a comment, the constraint, a node MERGE or an edge MERGE: anything else fails."""
    nodes: dict[str, dict[str, str]] = {}
    edges: list[dict[str, object]] = []
    for line in script.splitlines():
        if line.startswith("//") or line.startswith("CREATE CONSTRAINT sophia_entity_id IF NOT EXISTS"):
            continue
        if node := _NODE.match(line):
            nid, namespace, name, kind = (literal(g) for g in node.groups())
            nodes[nid] = {"namespace": namespace, "name": name, "type": kind}
        elif edge := _EDGE.match(line):
            props = {k: value(v) for k, v in _ASSIGNMENT.findall(edge.group(5))}
            ends = {
                "subject": literal(edge.group(1)),
                "object": literal(edge.group(2)),
                "type": edge.group(3),
            }
            edges.append(props | ends | {"id": literal(edge.group(4))})
        else:
            raise AssertionError(f"not a statement of the export: {line!r}")
    return nodes, edges


@pytest.fixture
def home(_isolated_sophia_home: Path) -> Path:
    asyncio.run(upgrade(f"sqlite+aiosqlite:///{(_isolated_sophia_home / 'sophia.db').resolve()}"))
    return _isolated_sophia_home


def sophia(*args: str) -> str:
    result = runner.invoke(app, ["--embedder", "hashing", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_cli_exports_the_owner_history_as_cypher_and_graphml(home: Path, tmp_path: Path) -> None:
    sophia("add", "Dana owns the Acme account.", "-n", "project:sales")
    sophia("add", "Priya owns the Acme account now.", "-n", "project:sales")
    sophia("add", "Mallory owns the Secret account.", "-n", "user:other")
    script = tmp_path / "graph.cypher"
    assert "as cypher" in sophia("graph", "export", str(script), "--format", "cypher", "-n", "project:sales")
    nodes, edges = parse_cypher(script.read_text())
    names = {n["name"] for n in nodes.values()}
    assert {"Dana", "Priya"} <= names and "Mallory" not in names and "Secret" not in " ".join(names)
    assert {n["namespace"] for n in nodes.values()} == {"project:sales"}
    owns = sorted((e for e in edges if e["relation"] == "owns"), key=lambda e: str(e["valid_from"]))
    assert [nodes[str(e["subject"])]["name"] for e in owns] == ["Dana", "Priya"]
    closed, current = owns
    assert closed["type"] == "OWNS" and isinstance(closed["valid_until"], datetime)
    assert closed["closed_by"] == current["source_memory_id"] and current["valid_until"] is None
    assert all(str(e["subject"]) in nodes and str(e["object"]) in nodes for e in edges)

    graphml = tmp_path / "graph.graphml"
    sophia("graph", "export", str(graphml), "--format", "graphml", "-n", "project:sales")
    root = ET.parse(graphml).getroot()
    xml_nodes = root.findall(f"{GML}graph/{GML}node")
    xml_edges = root.findall(f"{GML}graph/{GML}edge")
    assert {n.get("id") for n in xml_nodes} == set(nodes) and len(xml_edges) == len(edges)
    until = [e.find(f"{GML}data[@key='e_valid_until']") for e in xml_edges]
    assert sum(u is not None for u in until) == 1  # only the closed edge has an end


def test_export_refuses_a_bad_format_and_stray_arguments(home: Path, tmp_path: Path) -> None:
    bad = runner.invoke(
        app, ["--embedder", "hashing", "graph", "export", str(tmp_path / "x"), "--format", "csv"]
    )
    assert bad.exit_code == 2 and not (tmp_path / "x").exists()
    stray = runner.invoke(app, ["--embedder", "hashing", "graph", "acme", "--format", "cypher"])
    assert stray.exit_code == 2 and "graph export FILE" in stray.output


async def test_service_export_is_confined_and_checks_its_format(memory: MemoryService) -> None:
    await memory.remember("Dana owns the Acme account.", namespace="user:a")
    await memory.remember("Erin owns the Zeta account.", namespace="user:b")
    nodes, edges = parse_cypher(await memory.graph_export(namespaces=["user:a"], format="cypher"))
    assert {n["namespace"] for n in nodes.values()} == {"user:a"} and len(edges) == 1
    with pytest.raises(InvalidMemory, match="cypher, graphml"):
        await memory.graph_export(namespaces=["user:a"], format="dot")


names = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=40)


@given(names, names, st.text(min_size=1, max_size=30))
def test_any_names_and_relations_survive_both_formats(subject: str, obj: str, relation: str) -> None:
    moment = datetime(2025, 3, 1, 12, tzinfo=UTC)
    dump = GraphDump(
        (DumpedEntity("a1", "user:x", subject, "person"), DumpedEntity("b2", "user:x", obj, "org")),
        (DumpedEdge("e1", "user:x", "a1", relation, "b2", moment, None, "m1", None),),
    )
    nodes, (edge,) = parse_cypher(to_cypher(dump))
    assert nodes["a1"]["name"] == subject and nodes["b2"]["name"] == obj
    assert edge["relation"] == relation and edge["valid_from"] == moment and edge["valid_until"] is None
    root = ET.fromstring(to_graphml(dump))
    assert len(root.findall(f"{GML}graph/{GML}node")) == 2


@given(st.text())
def test_cypher_string_round_trips(text: str) -> None:
    assert literal(cypher_string(text)) == text
