"""Web search engines as sources: SearXNG (the keyless default), news, Tavily, Exa, Brave, Serper, DuckDuckGo,
and Perplexity, whose answer is a source of leads only (its cited URLs are fetched and read; its prose never is
evidence). Each parses the response shape its API documents; pages are read through the shared `PageReader`.
"""

from __future__ import annotations

from typing import Any

from sophia.research._errors import SourceFailed
from sophia.research._http import SourceHttp
from sophia.research._model import Document, SearchResult
from sophia.research._pages import PageReader

__all__ = [
    "BraveSource",
    "DuckDuckGoSource",
    "ExaSource",
    "NewsSource",
    "PerplexitySource",
    "SearxngSource",
    "SerperSource",
    "TavilySource",
    "WebSource",
]


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _items(data: Any, *path: str) -> list[dict[str, Any]]:
    """The list of objects under `path`, or a typed error naming what was missing."""
    node = data
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    if node is None:
        return []
    if not isinstance(node, list):
        raise ValueError(f"{'.'.join(path)} is not a list")
    return [item for item in node if isinstance(item, dict)]


class WebSource:
    """What the web engines share: an HTTP client with the source's limits, and pages read through the reader."""

    name = "web"

    def __init__(self, http: SourceHttp, reader: PageReader, *, base_url: str, api_key: str | None = None):
        self.http = http
        self.reader = reader
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key

    async def search(self, query: str, k: int) -> list[SearchResult]:
        raise NotImplementedError

    async def fetch(self, url: str) -> Document:
        return await self.reader.read(url, source=self.name)

    async def aclose(self) -> None:
        await self.http.aclose()

    def _results(
        self, data: Any, path: tuple[str, ...], url: str, title: str, snippet: str
    ) -> list[SearchResult]:
        try:
            items = _items(data, *path)
        except ValueError as error:
            raise SourceFailed(
                f"research source {self.name!r} answered an unexpected shape: {error}", source=self.name
            ) from None
        found = []
        for item in items:
            link = _str(item.get(url))
            if link.startswith(("http://", "https://")):
                score = item.get("score")
                found.append(
                    SearchResult(
                        url=link,
                        title=_str(item.get(title)) or link,
                        snippet=_str(item.get(snippet)),
                        source=self.name,
                        score=float(score) if isinstance(score, int | float) else None,
                        published=_str(item.get("publishedDate") or item.get("date") or item.get("age"))
                        or None,
                    )
                )
        return found


class SearxngSource(WebSource):
    """`GET /search?q=…&format=json`: `{query, number_of_results, results: [{url, title, content, engine, score}]}`."""

    name = "searxng"
    categories: str | None = None

    async def search(self, query: str, k: int) -> list[SearchResult]:
        params = {"q": query, "format": "json"}
        if self.categories:
            params["categories"] = self.categories
        data = await self.http.get_json(f"{self.base_url}/search", params=params)
        return self._results(data, ("results",), "url", "title", "content")[:k]


class NewsSource(SearxngSource):
    """A SearXNG query in the news category."""

    name = "news"
    categories = "news"


class TavilySource(WebSource):
    """`POST /search` (Bearer key): `{query, answer, results: [{title, url, content, score}], response_time}`."""

    name = "tavily"

    async def search(self, query: str, k: int) -> list[SearchResult]:
        data = await self.http.post_json(
            f"{self.base_url}/search",
            {"query": query, "max_results": k, "search_depth": "basic"},
            headers={"Authorization": f"Bearer {self.api_key}"},
        )
        return self._results(data, ("results",), "url", "title", "content")[:k]


class ExaSource(WebSource):
    """`POST /search` (x-api-key): `{requestId, results: [{id, title, url, publishedDate, author, text}]}`."""

    name = "exa"

    async def search(self, query: str, k: int) -> list[SearchResult]:
        data = await self.http.post_json(
            f"{self.base_url}/search",
            {"query": query, "numResults": k, "contents": {"text": {"maxCharacters": 1000}}},
            headers={"x-api-key": self.api_key or ""},
        )
        return self._results(data, ("results",), "url", "title", "text")[:k]


class BraveSource(WebSource):
    """`GET /res/v1/web/search?q=&count=` (X-Subscription-Token): `{type, web: {results: [{title, url,
    description}]}}`."""

    name = "brave"

    async def search(self, query: str, k: int) -> list[SearchResult]:
        data = await self.http.get_json(
            f"{self.base_url}/res/v1/web/search",
            params={"q": query, "count": min(k, 20)},
            headers={"X-Subscription-Token": self.api_key or "", "Accept": "application/json"},
        )
        return self._results(data, ("web", "results"), "url", "title", "description")[:k]


class SerperSource(WebSource):
    """`POST /search` (X-API-KEY): `{searchParameters, organic: [{title, link, snippet, position}]}`."""

    name = "serper"

    async def search(self, query: str, k: int) -> list[SearchResult]:
        data = await self.http.post_json(
            f"{self.base_url}/search", {"q": query, "num": k}, headers={"X-API-KEY": self.api_key or ""}
        )
        return self._results(data, ("organic",), "link", "title", "snippet")[:k]


class DuckDuckGoSource(WebSource):
    """The keyless Instant Answer API, `GET /?q=&format=json`: `AbstractURL`/`AbstractText`, `Results[]` and
    `RelatedTopics[]` (`FirstURL`, `Text`; groups hold `Topics[]`)."""

    name = "duckduckgo"

    async def search(self, query: str, k: int) -> list[SearchResult]:
        data = await self.http.get_json(
            f"{self.base_url}/", params={"q": query, "format": "json", "no_html": 1, "skip_disambig": 1}
        )
        if not isinstance(data, dict):
            raise SourceFailed("research source 'duckduckgo' answered an unexpected shape", source=self.name)
        found: list[SearchResult] = []
        if _str(data.get("AbstractURL")).startswith("http"):
            found.append(
                SearchResult(
                    data["AbstractURL"],
                    _str(data.get("Heading")) or data["AbstractURL"],
                    _str(data.get("AbstractText")),
                    self.name,
                )
            )
        topics = _items(data, "Results") + _items(data, "RelatedTopics")
        for topic in topics:
            for item in [topic, *_items(topic, "Topics")]:
                link, text = _str(item.get("FirstURL")), _str(item.get("Text"))
                if link.startswith("http"):
                    found.append(SearchResult(link, text.split(" - ")[0][:120] or link, text, self.name))
        return found[:k]


class PerplexitySource(WebSource):
    """`POST /chat/completions` with a sonar model: an OpenAI-shaped answer plus `search_results` (`title`, `url`,
    `date`) or `citations` (URLs). Only the URLs are kept, as leads: the answer's own prose is never evidence."""

    name = "perplexity"
    model = "sonar"

    async def search(self, query: str, k: int) -> list[SearchResult]:
        data = await self.http.post_json(
            f"{self.base_url}/chat/completions",
            {"model": self.model, "messages": [{"role": "user", "content": query}]},
            headers={"Authorization": f"Bearer {self.api_key}"},
        )
        found = [
            SearchResult(r.url, r.title, "", self.name, lead_only=True)
            for r in self._results(data, ("search_results",), "url", "title", "snippet")
        ]
        citations = data.get("citations") if isinstance(data, dict) else None
        seen = {r.url for r in found}
        for url in citations if isinstance(citations, list) else []:
            if isinstance(url, str) and url.startswith("http") and url not in seen:
                found.append(SearchResult(url, url, "", self.name, lead_only=True))
                seen.add(url)
        return found[:k]
