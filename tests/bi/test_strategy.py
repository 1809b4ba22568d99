"""The strategy agent on a generated business: lost-reason risks carry the exact counts and amounts of the lost
deals behind them, industry opportunities their win rates, competitor mentions their call moments, research
findings their citations; every number is traceable, and model prose with an invented number is dropped."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from sophia.bi import load_strategy, strategy, untraceable_numbers
from sophia.business import BusinessStore
from sophia.cli import app
from sophia.config import load_settings
from sophia.memory import HashingEmbedder, MemoryKind, MemoryService, open_memory
from sophia.store import Database, open_database
from tests.business.generator import generate

FINDING = "Mid-market demand for revenue analytics is rising fast in Europe."


async def _remember_finding(memory: MemoryService) -> str:
    return await memory.remember(
        FINDING,
        namespace="global",
        kind=MemoryKind.RESEARCH,
        source="https://example.org/report",
        metadata={"title": "EU analytics market 2026", "claim": FINDING, "question": "market"},
        importance=0.8,
    )


async def test_risks_and_opportunities_carry_their_records(database: Database, tmp_path: Path) -> None:
    business = generate(5, "small")
    store = BusinessStore(database)
    await store.upsert(business.entities())
    memory = await MemoryService.open(
        database, HashingEmbedder(dimensions=128), index_path=tmp_path / "v.npz"
    )
    try:
        finding_id = await _remember_finding(memory)
        result = await load_strategy(store, memory, ["global"], source="truth")
    finally:
        await memory.close()
    lost: dict[str, list[Any]] = defaultdict(list)
    for deal in business.deals:
        if deal.is_closed and not deal.is_won:
            lost[deal.lost_reason or "no reason given"].append(deal)
    risks = {i.title.removeprefix("Losses on "): i for i in result.items if i.title.startswith("Losses on ")}
    assert set(risks) == set(lost)
    for reason, deals in lost.items():
        item = risks[reason]
        assert item.figures["deals"] == len(deals)
        assert item.figures["amount_lost"] == sum(d.amount or 0 for d in deals)
        assert {e.id for e in item.evidence} <= {d.source_id for d in deals}
        assert all(e.url for e in item.evidence)
    research = [i for i in result.items if i.evidence[0].kind == "research"]
    assert [(e.id, e.url) for i in research for e in i.evidence] == [
        (finding_id, "https://example.org/report")
    ]
    assert research[0].kind == "opportunity"
    assert [i.weight for i in result.items] == sorted((i.weight for i in result.items), reverse=True)
    for item in result.items:
        rows = [item.figures, *({"label": e.label, "value": e.value} for e in item.evidence)]
        assert untraceable_numbers(item.text, rows, item.title) == []
    assert any(i.kind == "opportunity" and i.title.startswith("Grow in ") for i in result.items)


async def test_competitor_mentions_are_call_moments_and_prose_must_be_traceable(database: Database) -> None:
    business = generate(6, "small")
    store = BusinessStore(database)
    await store.upsert(business.entities())
    frames = await store.frames(kinds=("deals", "accounts", "calls", "call_sentences", "reps"))
    frames["call_sentences"][0]["text"] = "We are also looking at Zento for this."
    frames["call_sentences"][5]["text"] = "Zento quoted us less."
    calls: list[str] = []

    async def invents(system: str, user: str) -> str:
        calls.append(user)
        return "Zento is named in 97 calls; grow in Europe."

    result = await strategy(frames, [], competitors=["Zento"], model=invents)
    zento = next(i for i in result.items if i.title == "Competitor Zento")
    assert zento.figures["mentions"] == 2
    assert {e.kind for e in zento.evidence} == {"call"}
    assert all("Zento" in e.label for e in zento.evidence)
    assert result.prose is None and result.untraceable == [97.0] and calls

    async def faithful(system: str, user: str) -> str:
        return "Zento is named 2 times; guard the deals it touches."

    kept = await strategy(frames, [], competitors=["Zento"], model=faithful)
    assert kept.prose == "Zento is named 2 times; guard the deals it touches." and kept.refused is None


def test_sophia_bi_strategy_lists_ranked_items_with_evidence() -> None:
    business = generate(7, "small")

    async def seed() -> None:
        settings = load_settings()
        database = await open_database(settings, migrate=True)
        try:
            await BusinessStore(database).upsert(business.entities())
            memory = await open_memory(settings, database, embedder=HashingEmbedder(dimensions=384))
            try:
                await _remember_finding(memory)
            finally:
                await memory.close()
        finally:
            await database.close()

    asyncio.run(seed())
    runner = CliRunner()
    result = runner.invoke(app, ["bi", "strategy", "--embedder", "hashing", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    kinds = {e["kind"] for item in report["items"] for e in item["evidence"]}
    assert {"deal", "research"} <= kinds and report["prose"] is None
    text = runner.invoke(app, ["bi", "strategy", "--embedder", "hashing", "--question", "analytics demand"])
    assert text.exit_code == 0 and "EU analytics market 2026" in text.output
