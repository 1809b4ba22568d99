"""Gathering the strategy agent's evidence: the business tables and the research findings kept in memory."""

from __future__ import annotations

from collections.abc import Sequence

from sophia.bi._ask import Ask
from sophia.bi._strategy import Strategy, strategy
from sophia.business import BusinessStore
from sophia.memory import Memory, MemoryKind, MemoryService

__all__ = ["STRATEGY_KINDS", "load_strategy", "research_findings"]

STRATEGY_KINDS = ("deals", "accounts", "calls", "call_sentences", "reps")
MAX_FINDINGS = 30


async def research_findings(
    memory: MemoryService, namespaces: Sequence[str], question: str | None = None, limit: int = MAX_FINDINGS
) -> list[Memory]:
    """Research findings (kind `research`) in `namespaces`: recalled for the question, else the best supported."""
    if question:
        hits = await memory.recall(question, namespaces, kinds=[MemoryKind.RESEARCH], k=limit)
        return [h.memory for h in hits]
    found = [m async for m in memory.export(namespaces=namespaces) if m.kind is MemoryKind.RESEARCH]
    return sorted(found, key=lambda m: (-m.importance, m.id))[:limit]


async def load_strategy(
    store: BusinessStore,
    memory: MemoryService | None,
    namespaces: Sequence[str],
    *,
    question: str | None = None,
    competitors: Sequence[str] = (),
    model: Ask | None = None,
    source: str | Sequence[str] | None = None,
) -> Strategy:
    frames = await store.frames(source=source, kinds=STRATEGY_KINDS)
    findings = await research_findings(memory, namespaces, question) if memory is not None else []
    return await strategy(frames, findings, question=question, competitors=competitors, model=model)
