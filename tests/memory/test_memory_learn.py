"""Facts and preferences learned from conversations through the gateway: add, update, delete as add-only versions."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from sophia.config import Settings
from sophia.gateway import ProviderUnavailable
from sophia.gateway.providers import ScriptedProvider
from sophia.memory import (
    HashingEmbedder,
    LearnOutputRefused,
    Memory,
    MemoryKind,
    MemoryService,
    Turn,
    open_memory,
)
from sophia.memory._learn import parse_decisions
from sophia.store import Database
from tests.agents.conftest import build_gateway

NS = "user:learn"


def _answer(*decisions: dict[str, object]) -> str:
    return json.dumps({"decisions": list(decisions)})


def _number_of(prompt: str, content: str) -> int:
    (line,) = [line for line in prompt.splitlines() if line.endswith(content) and ". [" in line]
    return int(line.split(".", 1)[0])


def _script(body: dict[str, Any]) -> object:
    prompt = body["messages"][0]["content"]
    if "home is Lisbon" in prompt:
        return _answer(
            {"event": "ADD", "number": None, "kind": "preference", "text": "Likes window seats"},
            {"event": "ADD", "number": None, "kind": "fact", "text": "Lives in Lisbon"},
        )
    if "moved to Porto" in prompt:
        return _answer(
            {
                "event": "UPDATE",
                "number": _number_of(prompt, "Lives in Lisbon"),
                "kind": "fact",
                "text": "Lives in Porto",
            },
            {
                "event": "DELETE",
                "number": _number_of(prompt, "Likes window seats"),
                "kind": "preference",
                "text": "",
            },
        )
    if "trains" in prompt:
        return "I think you like trains?"  # not the shape: refused, nothing changes
    return ProviderUnavailable("down", provider="scripted")  # the gateway fails: refused too


async def test_conversations_teach_facts_and_changes_keep_every_version(database: Database) -> None:
    provider = ScriptedProvider(_script, name="scripted")
    gateway = build_gateway(database, provider)
    settings = Settings(memory={"facts_model": "scripted", "graph": False})
    memory = await open_memory(settings, database, embedder=HashingEmbedder(dimensions=64), gateway=gateway)
    try:
        await memory.ingest_conversation(
            [Turn("Ana", "I always book a window seat"), Turn("Ana", "home is Lisbon")],
            namespace=NS,
            session_id="s1",
        )
        first = await _learned(memory)
        assert [(m.kind, m.content, m.source) for m in first] == [
            (MemoryKind.PREFERENCE, "Likes window seats", "learned:s1"),
            (MemoryKind.FACT, "Lives in Lisbon", "learned:s1"),
        ]
        await memory.ingest_conversation(
            [Turn("Ana", "I moved to Porto, aisle seats now")], namespace=NS, session_id="s2"
        )
        after = await _learned(memory)
        await memory.ingest_conversation([Turn("Ana", "trains are nice")], namespace=NS, session_id="s3")
        await memory.ingest_conversation([Turn("Ana", "hello again")], namespace=NS, session_id="s4")
        assert await _learned(memory) == after and len(provider.calls) == 4
        old = {
            m.content: await memory.get(m.id, namespaces=NS) for m in first
        }  # closed versions stay readable
    finally:
        await memory.close()
        await gateway.aclose()
    ((porto),) = [(m.content, m.supersedes, m.valid_until) for m in after]
    assert porto == ("Lives in Porto", old["Lives in Lisbon"].id, None)  # an update is a new version
    assert (
        old["Lives in Lisbon"].valid_until is not None and old["Likes window seats"].valid_until is not None
    )


async def _learned(memory: MemoryService) -> list[Memory]:
    """The learned memories, every version, without the counters recall itself moves."""
    found = [m async for m in memory.export(namespaces=NS) if m.kind is not MemoryKind.CONVERSATION]
    return sorted(
        (replace(m, access_count=0, last_accessed_at=None) for m in found),
        key=lambda m: (m.created_at, m.content),
    )


@pytest.mark.parametrize(
    "answer",
    [
        '{"decisions": [{"event": "MERGE", "number": null, "kind": "fact", "text": "x"}]}',
        '{"decisions": [{"event": "UPDATE", "number": 5, "kind": "fact", "text": "x"}]}',
        '{"decisions": [{"event": "ADD", "number": 0, "kind": "fact", "text": "x"}]}',
        '{"decisions": [{"event": "ADD", "number": null, "kind": "secret", "text": "x"}]}',
        '{"decisions": [{"event": "ADD", "number": null, "kind": "fact", "text": " "}]}',
        '{"decisions": [], "note": "extra"}',
        '{"decisions": [{"event": "DELETE", "number": 0, "kind": "fact", "text": ""},'
        ' {"event": "UPDATE", "number": 0, "kind": "fact", "text": "y"}]}',
    ],
)
def test_decisions_off_the_shape_are_refused_whole(answer: str) -> None:
    known = [Memory(id="a" * 32, namespace=NS, kind=MemoryKind.FACT, content="Lives in Lisbon")]
    with pytest.raises(LearnOutputRefused):
        parse_decisions(answer, known)
