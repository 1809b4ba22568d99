"""Each source against a recorded response shaped as its API documents it, through `SourceHttp` (limits,
retries honouring Retry-After, typed errors) — httpx's MockTransport stands in for the internet."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from sophia.config import load_settings
from sophia.research import IntervalLimiter, PageReader, SourceFailed, SourceKeyMissing, build_source

ARXIV_FEED = """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>ArXiv Query: search_query=all:overcommit</title>
  <entry>
    <id>http://arxiv.org/abs/2101.00001v1</id>
    <published>2021-01-01T00:00:00Z</published>
    <title>Memory  Overcommit in Practice</title>
    <summary>We study overcommit.</summary>
    <link href="http://arxiv.org/abs/2101.00001v1" rel="alternate" type="text/html"/>
    <link title="pdf" href="http://arxiv.org/pdf/2101.00001v1" rel="related" type="application/pdf"/>
  </entry>
</feed>"""

RECORDED: dict[str, tuple[str, Any]] = {
    "searxng": (
        "/search",
        {
            "query": "q",
            "number_of_results": 1,
            "results": [
                {
                    "url": "https://a.example/x",
                    "title": "A",
                    "content": "snippet a",
                    "engine": "bing",
                    "score": 1.5,
                }
            ],
            "answers": [],
            "suggestions": [],
            "unresponsive_engines": [],
        },
    ),
    "news": (
        "/search",
        {
            "query": "q",
            "number_of_results": 1,
            "results": [
                {
                    "url": "https://a.example/x",
                    "title": "A",
                    "content": "snippet a",
                    "engine": "bing news",
                    "publishedDate": "2026-12-01T00:00:00",
                }
            ],
        },
    ),
    "tavily": (
        "/search",
        {
            "query": "q",
            "answer": None,
            "images": [],
            "results": [{"title": "A", "url": "https://a.example/x", "content": "snippet a", "score": 0.9}],
            "response_time": 1.1,
        },
    ),
    "exa": (
        "/search",
        {
            "requestId": "r1",
            "resolvedSearchType": "neural",
            "results": [
                {
                    "id": "https://a.example/x",
                    "title": "A",
                    "url": "https://a.example/x",
                    "publishedDate": None,
                    "author": None,
                    "text": "snippet a",
                }
            ],
        },
    ),
    "brave": (
        "/res/v1/web/search",
        {
            "type": "search",
            "query": {"original": "q"},
            "web": {
                "type": "search",
                "results": [{"title": "A", "url": "https://a.example/x", "description": "snippet a"}],
            },
        },
    ),
    "serper": (
        "/search",
        {
            "searchParameters": {"q": "q"},
            "organic": [{"title": "A", "link": "https://a.example/x", "snippet": "snippet a", "position": 1}],
        },
    ),
    "duckduckgo": (
        "/",
        {
            "Heading": "A",
            "AbstractText": "snippet a",
            "AbstractURL": "https://a.example/x",
            "Results": [],
            "RelatedTopics": [
                {"Name": "More", "Topics": [{"FirstURL": "https://b.example/y", "Text": "B - second"}]}
            ],
        },
    ),
    "perplexity": (
        "/chat/completions",
        {
            "id": "c1",
            "model": "sonar",
            "object": "chat.completion",
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": "Prose that is never evidence."}}
            ],
            "citations": ["https://a.example/x"],
            "search_results": [{"title": "A", "url": "https://a.example/x"}],
        },
    ),
    "semantic_scholar": (
        "/graph/v1/paper/search",
        {
            "total": 1,
            "offset": 0,
            "data": [
                {
                    "paperId": "p1",
                    "title": "A",
                    "url": "https://a.example/x",
                    "abstract": "snippet a",
                    "year": 2020,
                }
            ],
        },
    ),
    "github": (
        "/search/repositories",
        {
            "total_count": 1,
            "incomplete_results": False,
            "items": [{"full_name": "o/A", "html_url": "https://a.example/x", "description": "snippet a"}],
        },
    ),
}
KEYED = {"tavily", "exa", "brave", "serper", "perplexity"}


def _source(name: str, handler: Any, **extra: Any) -> Any:
    config: dict[str, Any] = {"base_url": "https://api.example", **extra}
    if name in KEYED:
        config["api_key"] = "env:RESEARCH_TEST_KEY"
    settings = load_settings(overrides={"research": {"source": {name: config}}})
    return build_source(
        name,
        settings,
        reader=PageReader(),
        resolve=lambda ref: "k-secret-123",
        transport=httpx.MockTransport(handler),
    )


@pytest.mark.parametrize("name", sorted(RECORDED))
async def test_each_source_parses_its_documented_response(name: str) -> None:
    path, body = RECORDED[name]
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        assert request.url.path == path
        return httpx.Response(200, json=body)

    found = await _source(name, handler).search("overcommit", 5)
    assert found[0].url == "https://a.example/x" and found[0].source == name
    assert (found[0].snippet == "snippet a") or name == "perplexity"
    if name == "perplexity":
        assert all(r.lead_only for r in found) and all("Prose" not in r.snippet for r in found)
    if name in KEYED:
        sent = " ".join(f"{k}={v}" for k, v in seen[0].headers.items())
        assert "k-secret-123" in sent  # the resolved key goes in the documented header
    if name == "news":
        assert seen[0].url.params["categories"] == "news"
    if name == "duckduckgo":
        assert [r.url for r in found] == ["https://a.example/x", "https://b.example/y"]


async def test_arxiv_reads_the_atom_feed() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.params["search_query"] == "all:overcommit"
        return httpx.Response(200, text=ARXIV_FEED, headers={"content-type": "application/atom+xml"})

    found = await _source("arxiv", handler).search("overcommit", 3)
    assert (
        found[0].url == "http://arxiv.org/abs/2101.00001v1"
        and found[0].title == "Memory Overcommit in Practice"
    )


async def test_pubmed_searches_then_summarises() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("esearch.fcgi"):
            return httpx.Response(
                200,
                json={
                    "header": {"type": "esearch"},
                    "esearchresult": {"count": "1", "retmax": "1", "retstart": "0", "idlist": ["31452104"]},
                },
            )
        assert request.url.params["id"] == "31452104"
        return httpx.Response(
            200,
            json={
                "header": {"type": "esummary"},
                "result": {
                    "uids": ["31452104"],
                    "31452104": {
                        "uid": "31452104",
                        "pubdate": "2019 Aug",
                        "source": "Nature",
                        "title": "A study.",
                    },
                },
            },
        )

    found = await _source("pubmed", handler).search("overcommit", 3)
    assert found[0].url == "https://pubmed.ncbi.nlm.nih.gov/31452104/" and found[0].title == "A study."


@pytest.mark.parametrize("name", sorted(KEYED))
def test_a_keyed_source_without_its_key_names_the_setting(name: str) -> None:
    with pytest.raises(SourceKeyMissing, match=f"research.source.{name}.api_key"):
        build_source(name, load_settings(), reader=PageReader(), resolve=lambda ref: "")


async def test_429_is_retried_after_the_retry_after_it_asks_for() -> None:
    answers = [
        httpx.Response(429, headers={"Retry-After": "7"}, text="slow down"),
        httpx.Response(200, json=RECORDED["searxng"][1]),
    ]
    source = _source("searxng", lambda request: answers.pop(0))
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    source.http._sleep = sleep
    found = await source.search("q", 3)
    assert found and 7.0 in slept  # the retry waited as long as asked (the rest is the rate limit)


async def test_an_error_is_typed_and_never_shows_the_key() -> None:
    source = _source("tavily", lambda request: httpx.Response(401, text="bad key k-secret-123"))
    with pytest.raises(SourceFailed) as caught:
        await source.search("q", 3)
    assert caught.value.status == 401 and not caught.value.retryable
    assert "k-secret-123" not in caught.value.message


async def test_garbage_is_a_typed_failure() -> None:
    source = _source("searxng", lambda request: httpx.Response(200, text="<html>not json</html>"))
    with pytest.raises(SourceFailed, match="not JSON"):
        await source.search("q", 3)


async def test_the_interval_limiter_spaces_requests() -> None:
    now = [100.0]
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    limiter = IntervalLimiter(1 / 3, clock=lambda: now[0])  # arXiv: one request every three seconds
    for _ in range(3):
        await limiter.wait(sleep)
    assert waits == [3.0, 3.0]


def test_recorded_shapes_are_json() -> None:
    assert all(json.dumps(body) for _, body in RECORDED.values())
