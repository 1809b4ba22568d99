"""Sources and the pipeline from `[research]`: each source's endpoint, key (a secret reference), rate limit and
timeout; one `PageReader` (the `web.fetch` fetcher and its SSRF guard) shared by every web source."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from sophia.config import SOURCE_KINDS, ResearchSourceSettings, Settings
from sophia.errors import ConfigError
from sophia.gateway import RetryPolicy
from sophia.memory import MemoryService
from sophia.research._errors import SourceKeyMissing, UnknownSource
from sophia.research._http import SourceHttp
from sophia.research._local_sources import LocalFolderSource, MemorySource
from sophia.research._model import Source
from sophia.research._pages import PageReader
from sophia.research._scholarly_sources import ArxivSource, GitHubSource, PubMedSource, SemanticScholarSource
from sophia.research._web_sources import (
    BraveSource,
    DuckDuckGoSource,
    ExaSource,
    NewsSource,
    PerplexitySource,
    SearxngSource,
    SerperSource,
    TavilySource,
    WebSource,
)
from sophia.tools import WebFetcher

__all__ = ["SOURCE_DEFAULTS", "SourceDefaults", "build_source", "build_sources", "page_reader"]


@dataclass(frozen=True, slots=True)
class SourceDefaults:
    kind: type[WebSource]
    base_url: str
    per_second: float
    needs_key: bool = False
    per_second_with_key: float | None = None


SOURCE_DEFAULTS: dict[str, SourceDefaults] = {
    "searxng": SourceDefaults(SearxngSource, "http://127.0.0.1:8888", 5.0),
    "news": SourceDefaults(NewsSource, "http://127.0.0.1:8888", 5.0),
    "tavily": SourceDefaults(TavilySource, "https://api.tavily.com", 5.0, needs_key=True),
    "exa": SourceDefaults(ExaSource, "https://api.exa.ai", 5.0, needs_key=True),
    "brave": SourceDefaults(BraveSource, "https://api.search.brave.com", 1.0, needs_key=True),
    "serper": SourceDefaults(SerperSource, "https://google.serper.dev", 5.0, needs_key=True),
    "perplexity": SourceDefaults(PerplexitySource, "https://api.perplexity.ai", 1.0, needs_key=True),
    "duckduckgo": SourceDefaults(DuckDuckGoSource, "https://api.duckduckgo.com", 1.0),
    "arxiv": SourceDefaults(ArxivSource, "https://export.arxiv.org", 1 / 3),
    "pubmed": SourceDefaults(
        PubMedSource, "https://eutils.ncbi.nlm.nih.gov/entrez/eutils", 3.0, per_second_with_key=10.0
    ),
    "semantic_scholar": SourceDefaults(SemanticScholarSource, "https://api.semanticscholar.org", 1.0),
    "github": SourceDefaults(GitHubSource, "https://api.github.com", 30 / 60),
}


def page_reader(
    settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None, resolver: Any = None
) -> PageReader:
    web = settings.tools.web
    if settings.research.allow_private_sources:
        web = web.model_copy(update={"allow_private_networks": True})
    return PageReader(WebFetcher(web, transport=transport, resolver=resolver))


def build_source(
    name: str,
    settings: Settings,
    *,
    reader: PageReader,
    resolve: Callable[[str], str],
    memory: MemoryService | None = None,
    namespaces: Sequence[str] = (),
    transport: httpx.AsyncBaseTransport | None = None,
) -> Source:
    """One source; a keyed source without its key is a `SourceKeyMissing` naming the setting."""
    if name not in SOURCE_KINDS:
        raise UnknownSource(f"unknown research source {name!r}; known: {', '.join(SOURCE_KINDS)}")
    config = settings.research.source.get(name) or ResearchSourceSettings()
    if name == "memory":
        if memory is None:
            raise ConfigError("the memory research source needs the memory service")
        return MemorySource(memory, list(namespaces) or ["global"])
    if name == "local":
        if config.path is None:
            raise ConfigError("research.source.local.path: set it to the folder of documents to search")
        return LocalFolderSource(Path(config.path).expanduser())
    return _web_source(name, settings, config, reader, resolve, transport)


def _per_second(
    name: str, config: ResearchSourceSettings, defaults: SourceDefaults, key: str | None
) -> float:
    if config.requests_per_second is not None:
        return config.requests_per_second
    if name == "github" and config.kind == "code":
        return 10 / 60  # GitHub allows code search 10 requests a minute
    return defaults.per_second_with_key if key and defaults.per_second_with_key else defaults.per_second


def _web_source(
    name: str,
    settings: Settings,
    config: ResearchSourceSettings,
    reader: PageReader,
    resolve: Callable[[str], str],
    transport: httpx.AsyncBaseTransport | None,
) -> Source:
    defaults = SOURCE_DEFAULTS[name]
    if name == "news" and config.base_url is None and "searxng" in settings.research.source:
        config = config.model_copy(update={"base_url": settings.research.source["searxng"].base_url})
    key = resolve(config.api_key) if config.api_key else None
    if defaults.needs_key and not key:
        raise SourceKeyMissing(name, "api_key")
    per_second = _per_second(name, config, defaults, key)
    http = SourceHttp(
        name,
        per_second=per_second,
        timeout=config.timeout_seconds,
        retry=RetryPolicy(max_retries=config.max_retries, max_retry_after=30.0),
        transport=transport,
        secrets=(key,) if key else (),
    )
    base_url = config.base_url or defaults.base_url
    if name == "github":
        return GitHubSource(http, reader, base_url=base_url, api_key=key, kind=config.kind)
    return defaults.kind(http, reader, base_url=base_url, api_key=key)


def build_sources(
    settings: Settings,
    names: Sequence[str] | None = None,
    *,
    reader: PageReader,
    resolve: Callable[[str], str],
    memory: MemoryService | None = None,
    namespaces: Sequence[str] = (),
    transport: httpx.AsyncBaseTransport | None = None,
) -> dict[str, Source]:
    """The asked-for sources (default `[research] sources`); memory is skipped when there is no memory."""
    wanted = list(names or settings.research.sources)
    return {
        name: build_source(
            name,
            settings,
            reader=reader,
            resolve=resolve,
            memory=memory,
            namespaces=namespaces,
            transport=transport,
        )
        for name in dict.fromkeys(wanted)
        if not (name == "memory" and memory is None and names is None)
    }
