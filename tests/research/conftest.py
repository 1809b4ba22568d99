"""The research tests' offline web: the fixture corpus (laid out like the Debian doc packages) behind the
SearXNG-compatible corpus service, and a `ResearchService` whose fetcher reaches it through the fetch hook."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from bench.research_corpus import CorpusIndex, CorpusService, CorpusTransport, corpus_resolver

from sophia.config import Settings, load_settings
from sophia.memory import HashingEmbedder, MemoryService
from sophia.research import PageReader, ResearchService
from sophia.store import Database
from sophia.tools import WebFetcher, WebFetchSettings

CORPUS = Path(__file__).parent / "corpus"


@pytest.fixture(scope="session")
def corpus_index(tmp_path_factory: pytest.TempPathFactory) -> CorpusIndex:
    return CorpusIndex.build(CORPUS, tmp_path_factory.mktemp("corpus") / "index.sqlite")


@pytest.fixture(scope="session")
def corpus(corpus_index: CorpusIndex) -> Iterator[CorpusService]:
    with CorpusService(corpus_index) as service:
        yield service


def research_settings(corpus: CorpusService, **research: Any) -> Settings:
    return load_settings(
        overrides={
            "research": {
                "sources": ["searxng"],
                "source": {"searxng": {"base_url": corpus.base_url}},
                **research,
            }
        }
    )


def corpus_reader(corpus: CorpusService) -> PageReader:
    """The real fetcher and SSRF guard; the corpus hosts resolve to a public address, the hook delivers."""
    return PageReader(
        WebFetcher(WebFetchSettings(), resolver=corpus_resolver, transport=CorpusTransport(corpus))
    )


@pytest.fixture
async def memory(database: Database, tmp_path: Path) -> AsyncIterator[MemoryService]:
    service = await MemoryService.open(
        database, HashingEmbedder(dimensions=64), index_path=tmp_path / "v.npz"
    )
    yield service


@pytest.fixture
def make_service(corpus: CorpusService) -> Callable[..., ResearchService]:
    def make(memory: MemoryService | None = None, gateway: Any = None, **research: Any) -> ResearchService:
        return ResearchService(
            research_settings(corpus, **research),
            gateway=gateway,
            memory=memory,
            embedder=HashingEmbedder(dimensions=64),
            resolve=lambda ref: "unused",
            reader=corpus_reader(corpus),
        )

    return make
