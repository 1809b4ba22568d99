"""`sophia research` in its own process and `POST /v1/research` on a real server, both against the corpus
service (real HTTP, the real SearXNG source, the real fetcher, allowed to reach the service's host), and the
research MCP group's tools."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from bench.research_corpus import CorpusIndex, CorpusService

from sophia.config import load_settings
from sophia.research import ResearchService, register_research_tools
from sophia.server import create_app
from sophia.tools import ToolContext, ToolRegistry
from tests.serving import clean_env, create_key, free_port, sophia

QUESTION = "Which vm.overcommit_memory value does PostgreSQL 15 recommend on Linux, and what is the kernel's default?"
pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def local_corpus(corpus_index: CorpusIndex) -> Iterator[CorpusService]:
    with CorpusService(corpus_index, local_urls=True) as service:
        yield service


def _config(home: Path, corpus: CorpusService) -> Path:
    path = home / "sophia.toml"
    path.write_text(
        f'[research]\nsources = ["searxng"]\n[research.source.searxng]\nbase_url = "{corpus.base_url}"\n'
        f'[tools.web]\nallowed_hosts = ["127.0.0.1:{corpus.port}"]\n'
    )
    return path


def test_sophia_research_answers_with_citations_from_the_corpus(
    tmp_path: Path, local_corpus: CorpusService
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = clean_env(home, SOPHIA_CONFIG=str(_config(home, local_corpus)))
    result = sophia(env, "research", QUESTION, "--depth", "quick", "--mode", "extractive", "--json")
    report = json.loads(result.stdout)
    urls = {c["url"] for c in report["citations"]}
    assert f"{local_corpus.base_url}/www.postgresql.org/docs/15/kernel-resources.html" in urls
    assert all(c["citation"] in {s["n"] for s in report["citations"]} for c in report["claims"])
    missing = sophia(env, "research", QUESTION, "--sources", "tavily", check=False)
    assert missing.returncode == 2 and "research.source.tavily.api_key" in missing.stderr


def test_post_v1_research_needs_a_key_and_streams_progress(
    tmp_path: Path, local_corpus: CorpusService, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("SOPHIA_HOME", str(home))
    env = clean_env(home, SOPHIA_CONFIG=str(_config(home, local_corpus)))
    key = create_key(env, "ada", "member")
    settings = load_settings(
        _config(home, local_corpus), overrides={"home": home, "server": {"run_worker": False}}
    )
    app = create_app(settings, mcp=False)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        url = f"http://127.0.0.1:{port}/v1/research"
        body = {"question": QUESTION, "depth": "quick", "mode": "extractive"}
        assert httpx.post(url, json=body, timeout=60).status_code == 401
        auth = {"Authorization": f"Bearer {key}"}
        answer = httpx.post(url, json=body, headers=auth, timeout=120)
        assert answer.status_code == 200, answer.text
        assert answer.json()["object"] == "research.report" and answer.json()["citations"]
        with httpx.stream("POST", url, json={**body, "stream": True}, headers=auth, timeout=120) as stream:
            events = [line.split(": ", 1)[1] for line in stream.iter_lines() if line.startswith("event: ")]
        assert events[0] == "plan" and "read" in events and events[-1] == "done"
        bad = httpx.post(url, json={**body, "sources": ["nope"]}, headers=auth, timeout=60)
        assert bad.status_code == 400
    finally:
        server.should_exit = True
        thread.join(timeout=10)


async def test_the_research_group_serves_search_fetch_and_report(corpus: CorpusService) -> None:
    from tests.research.conftest import corpus_reader, research_settings

    registry = ToolRegistry()
    service = ResearchService(research_settings(corpus), resolve=lambda r: "", reader=corpus_reader(corpus))
    register_research_tools(registry, service)
    assert {t.name for t in registry.tools("research")} == {
        "research.search",
        "research.fetch",
        "research.report",
    }
    context = ToolContext(user_id=1, user_name="ada", role=__import__("sophia.accounts").accounts.Role.MEMBER)
    hits = await registry.get("research.search").function(query="overcommit", context=context)
    assert any(h["url"].startswith("https://www.kernel.org/") for h in hits)
    page = await registry.get("research.fetch").function(url=hits[0]["url"])
    assert page["passages"] and all(p["id"].startswith("p") for p in page["passages"])
    report = await registry.get("research.report").function(question=QUESTION, context=context, depth="quick")
    assert report["citations"] and report["markdown"].startswith("# ")
