"""With the real MiniLM model, recall finds a memory by meaning when it shares no keyword with the query."""

from __future__ import annotations

import pytest

from sophia.memory import MemoryService, MiniLMEmbedder
from sophia.store import Database


@pytest.fixture(scope="module")
def minilm() -> MiniLMEmbedder:
    return MiniLMEmbedder()


async def test_recall_by_meaning_with_minilm(database: Database, minilm: MiniLMEmbedder) -> None:
    service = await MemoryService.open(database, minilm)
    wanted = await service.remember(
        "Our deployment to Fly.io broke since the health probe took too long", namespace="project:web"
    )
    await service.remember("My grandmother's apple pie uses cinnamon and nutmeg", namespace="project:web")
    await service.remember("The quarterly revenue grew by twelve percent", namespace="project:web")
    hits = await service.recall("release failed: liveness check timeout", "project:web", k=3)
    assert hits[0].memory.id == wanted
    assert hits[0].reasons.keyword_rank is None  # found by the vector alone
    assert hits[0].reasons.vector_score is not None and hits[0].reasons.vector_score > 0.3
