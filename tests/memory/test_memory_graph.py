"""The temporal knowledge graph: rule extraction, contradictions closing edges, expansion, forgetting."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sophia.memory import EntityView, GraphOutputRefused, MemoryService, ModelGraphExtractor, extract_rules
from sophia.memory._graph_extract import Entity, Relation, parse_model_graph

MARCH, JUNE = datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 6, 1, tzinfo=UTC)


async def views(memory: MemoryService, name: str, namespaces: list[str]) -> list[EntityView]:
    return await memory.graph(name, namespaces=namespaces)


def test_rules_find_relations_emails_dates_and_amounts() -> None:
    found = extract_rules(
        "Yesterday Dana Whitfield owns the Acme account; mail dana@acme.io by 12 March 2025 about $12,500.",
        speaker="Ravi",
    )
    assert Relation(Entity("Dana Whitfield", "person"), "owns", Entity("Acme", "name")) in found.relations
    assert (
        Relation(Entity("dana@acme.io", "email"), "in_domain", Entity("acme.io", "domain")) in found.relations
    )
    kinds = {(e.name, e.type) for e in found.entities}
    assert {
        ("2025-03-12", "date"),
        ("$12,500", "amount"),
        ("Ravi", "person"),
        ("Dana Whitfield", "name"),
    } <= kinds
    assert not any(e.name.startswith("Yesterday") for e in found.all_entities())


def test_first_person_relation_is_the_speakers() -> None:
    found = extract_rules("I work at Globex now.", speaker="Caroline")
    assert found.relations == (
        Relation(Entity("Caroline", "person"), "works_at", Entity("Globex", "organization")),
    )


@given(st.text(max_size=300), st.one_of(st.none(), st.text(max_size=20)))
def test_rules_never_fail_on_any_text(text: str, speaker: str | None) -> None:
    found = extract_rules(text, speaker)
    assert all(e.key for e in found.all_entities() if e.name.strip())


async def test_contradiction_closes_the_old_edge_and_as_of_history_remains(memory: MemoryService) -> None:
    ns = "user:graph"
    first = await memory.remember("Dana owns the Acme account.", namespace=ns, valid_from=MARCH)
    second = await memory.remember(
        "Priya owns the Acme account since the reorg.", namespace=ns, valid_from=JUNE
    )
    (acme,) = await views(memory, "acme", [ns])
    owns = [e for e in acme.edges if e.relation == "owns"]
    assert [(e.subject, e.valid_from, e.valid_until, e.source_memory_id, e.closed_by) for e in owns] == [
        ("Dana", MARCH, JUNE, first, second),
        ("Priya", JUNE, None, second, None),
    ]
    assert {first, second} <= set(acme.mentioned_in)


async def test_expansion_follows_the_owner_to_their_calls(memory: MemoryService) -> None:
    ns = "user:graph"
    await memory.remember("Dana owns the Acme account.", namespace=ns)
    call = await memory.remember("Call notes: Dana said the renewal slips to Q3.", namespace=ns)
    await memory.remember("Unrelated: the office plants need water.", namespace=ns)
    plain = await memory.recall("who owns the acme account", ns, k=1)
    expanded = await memory.recall("who owns the acme account", ns, k=1, expand_graph=True)
    assert call not in [h.memory.id for h in plain]
    via = {h.memory.id: h.reasons.via_graph for h in expanded[1:]}
    assert via.get(call) == "Dana"
    assert len(expanded) <= 2


async def test_forgetting_a_memory_takes_its_edges(memory: MemoryService) -> None:
    ns = "user:graph"
    soft = await memory.remember("Omar manages Billing.", namespace=ns)
    hard = await memory.remember("Lena leads Support.", namespace=ns)
    await memory.forget(soft, namespaces=ns)
    await memory.forget(hard, namespaces=ns, hard=True)
    (billing,) = await views(memory, "billing", [ns])
    assert [e.valid_until is not None for e in billing.edges] == [True]
    (support,) = await views(memory, "support", [ns])
    assert support.edges == () and support.mentioned_in == ()


async def test_update_moves_the_edge_to_the_new_version(memory: MemoryService) -> None:
    ns = "user:graph"
    old = await memory.remember("Kim works at Initech.", namespace=ns)
    new = await memory.update(old, "Kim works at Hooli.", namespaces=ns)
    (kim,) = await views(memory, "kim", [ns])
    current = [(e.object, e.source_memory_id) for e in kim.edges if e.valid_until is None]
    assert current == [("Hooli", new)]


async def test_a_refused_model_answer_falls_back_to_rules_and_writes_nothing_of_it(
    database, embedder, index_path
) -> None:  # type: ignore[no-untyped-def]
    answers = iter(['{"entities": [{"name": "X", "type": "spaceship"}], "relations": []}', "not json"])

    async def complete(prompt: str) -> str:
        assert "Ada works at Initech." in prompt
        return next(answers)

    extractor = ModelGraphExtractor(complete)
    memory = await MemoryService.open(database, embedder, index_path=index_path, graph_extractor=extractor)
    try:
        await memory.remember("Ada works at Initech.", namespace="user:m")
        await memory.remember("Ada works at Initech.", namespace="user:m")
        (ada,) = await views(memory, "ada", ["user:m"])
        assert extractor.refused == 2
        assert [(e.relation, e.object) for e in ada.edges] == [("works_at", "Initech")]
        assert await views(memory, "x", ["user:m"]) == []
    finally:
        await memory.close()


async def test_a_valid_model_answer_is_what_the_graph_stores(database, embedder, index_path) -> None:  # type: ignore[no-untyped-def]
    async def complete(prompt: str) -> str:
        return (
            '{"entities": [{"name": "Ada Lovelace", "type": "person"},'
            ' {"name": "Analytical Engine", "type": "name"}],'
            ' "relations": [{"subject": "Ada Lovelace", "relation": "leads", "object": "Analytical Engine"}]}'
        )

    memory = await MemoryService.open(
        database, embedder, index_path=index_path, graph_extractor=ModelGraphExtractor(complete)
    )
    try:
        await memory.remember("she is in charge of the engine", namespace="user:m")
        (engine,) = await views(memory, "analytical engine", ["user:m"])
        assert [(e.subject, e.relation) for e in engine.edges] == [("Ada Lovelace", "leads")]
    finally:
        await memory.close()


@pytest.mark.parametrize(
    "answer",
    [
        "[]",
        '{"entities": [], "relations": [], "extra": 1}',
        '{"entities": [{"name": "A", "type": "person"}],'
        ' "relations": [{"subject": "A", "relation": "owns", "object": "B"}]}',
        '{"entities": [{"name": "", "type": "person"}], "relations": []}',
        '{"entities": [{"name": "A", "type": "person", "x": 1}], "relations": []}',
        '{"entities": [{"name": "A", "type": "person"}, {"name": "B", "type": "name"}],'
        ' "relations": [{"subject": "A", "relation": "hates", "object": "B"}]}',
    ],
)
def test_model_output_off_the_shape_is_refused_whole(answer: str) -> None:
    with pytest.raises(GraphOutputRefused):
        parse_model_graph(answer)


async def test_an_expired_memory_takes_its_edges_when_consolidated(memory: MemoryService) -> None:
    ns = "user:graph"
    await memory.remember("Noor reports to Amir.", namespace=ns, ttl=timedelta(seconds=1))
    await asyncio.sleep(1.2)
    assert (await memory.consolidate(namespaces=[ns])).expired == 1
    (noor,) = await views(memory, "noor", [ns])
    assert noor.edges == () and noor.mentioned_in == ()
