"""Scholarly and code sources: arXiv (Atom feed, 1 request / 3 s), PubMed E-utilities (esearch + esummary),
Semantic Scholar's graph API and GitHub search (repositories, issues, code). Each returns the documented shape's
links; pages (abstract pages, PDFs, READMEs) are read through the shared `PageReader`.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any, Literal

from sophia.research._errors import SourceFailed
from sophia.research._model import SearchResult
from sophia.research._web_sources import WebSource, _items, _str

__all__ = ["ArxivSource", "GitHubSource", "PubMedSource", "SemanticScholarSource"]

_ATOM = "{http://www.w3.org/2005/Atom}"


def _space(text: str | None) -> str:
    return " ".join((text or "").split())


class ArxivSource(WebSource):
    """`GET /api/query?search_query=all:…&max_results=k`: an Atom feed of `<entry>` with id, title, summary."""

    name = "arxiv"

    async def search(self, query: str, k: int) -> list[SearchResult]:
        text = await self.http.get_text(
            f"{self.base_url}/api/query",
            params={"search_query": f"all:{query}", "start": 0, "max_results": k},
        )
        try:
            root = ET.fromstring(text)
        except ET.ParseError:
            raise SourceFailed(
                "research source 'arxiv' answered a feed that is not XML", source=self.name
            ) from None
        found = []
        for entry in root.iter(f"{_ATOM}entry"):
            link = _space(entry.findtext(f"{_ATOM}id"))
            for alternate in entry.iter(f"{_ATOM}link"):
                if alternate.get("rel") == "alternate" and alternate.get("href"):
                    link = str(alternate.get("href"))
            if link.startswith("http"):
                found.append(
                    SearchResult(
                        url=link,
                        title=_space(entry.findtext(f"{_ATOM}title")) or link,
                        snippet=_space(entry.findtext(f"{_ATOM}summary")),
                        source=self.name,
                        published=_space(entry.findtext(f"{_ATOM}published")) or None,
                    )
                )
        return found[:k]


class PubMedSource(WebSource):
    """`esearch.fcgi?db=pubmed&retmode=json` → `esearchresult.idlist`; `esummary.fcgi` → `result.<uid>.title`."""

    name = "pubmed"
    article_url = "https://pubmed.ncbi.nlm.nih.gov/{uid}/"

    async def search(self, query: str, k: int) -> list[SearchResult]:
        key = {"api_key": self.api_key} if self.api_key else {}
        found = await self.http.get_json(
            f"{self.base_url}/esearch.fcgi",
            params={"db": "pubmed", "term": query, "retmode": "json", "retmax": k, **key},
        )
        ids = found.get("esearchresult", {}).get("idlist", []) if isinstance(found, dict) else []
        ids = [i for i in ids if isinstance(i, str) and i.isdigit()][:k]
        if not ids:
            return []
        summary = await self.http.get_json(
            f"{self.base_url}/esummary.fcgi",
            params={"db": "pubmed", "id": ",".join(ids), "retmode": "json", **key},
        )
        result: dict[str, Any] = summary.get("result", {}) if isinstance(summary, dict) else {}
        hits = []
        for uid in ids:
            item = result.get(uid)
            if isinstance(item, dict):
                journal, date = (
                    _str(item.get("fulljournalname") or item.get("source")),
                    _str(item.get("pubdate")),
                )
                hits.append(
                    SearchResult(
                        url=self.article_url.format(uid=uid),
                        title=_str(item.get("title")) or uid,
                        snippet=f"{journal} {date}".strip(),
                        source=self.name,
                        published=date or None,
                    )
                )
        return hits


class SemanticScholarSource(WebSource):
    """`GET /graph/v1/paper/search?query=&limit=&fields=` → `{total, offset, data: [{paperId, title, url,
    abstract, year}]}` (x-api-key optional)."""

    name = "semantic_scholar"

    async def search(self, query: str, k: int) -> list[SearchResult]:
        data = await self.http.get_json(
            f"{self.base_url}/graph/v1/paper/search",
            params={"query": query, "limit": min(k, 100), "fields": "title,url,abstract,year"},
            headers={"x-api-key": self.api_key} if self.api_key else None,
        )
        return self._results(data, ("data",), "url", "title", "abstract")[:k]


class GitHubSource(WebSource):
    """`GET /search/{repositories|issues|code}?q=&per_page=` → `{total_count, incomplete_results, items: [...]}`
    with `html_url` and `full_name`/`title`/`name`, and `description`/`body`/`path` (code search needs a token)."""

    name = "github"

    def __init__(
        self, *args: Any, kind: Literal["repositories", "issues", "code"] = "repositories", **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind

    async def search(self, query: str, k: int) -> list[SearchResult]:
        if self.kind == "code" and not self.api_key:
            from sophia.research._errors import SourceKeyMissing

            raise SourceKeyMissing(self.name, "api_key")
        headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        data = await self.http.get_json(
            f"{self.base_url}/search/{self.kind}",
            params={"q": query, "per_page": min(k, 100)},
            headers=headers,
        )
        found = []
        for item in _items(data, "items"):
            link = _str(item.get("html_url"))
            if not link.startswith("https://"):
                continue
            repository = item.get("repository")
            title = (
                _str(item.get("full_name"))
                or _str(item.get("title"))
                or f"{_str(repository.get('full_name')) if isinstance(repository, dict) else ''}/"
                f"{_str(item.get('path'))}"
            )
            snippet = _str(item.get("description")) or _str(item.get("body"))[:500] or _str(item.get("path"))
            found.append(SearchResult(link, title, snippet, self.name))
        return found[:k]
