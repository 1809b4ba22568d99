"""`sophia research` in its own process and `POST /v1/research` through the app in process, both against the
corpus service (real HTTP, the real SearXNG source, the real fetcher, allowed to reach the service's host), and
the research MCP group's tools."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from bench.research_corpus import CorpusIndex, CorpusService
from typer.testing import CliRunner

from sophia.accounts import Role
from sophia.cli import app as cli_app
from sophia.config import load_settings
from sophia.research import ResearchService, register_research_tools
from sophia.server import Services, create_app
from sophia.tools import ToolContext, ToolRegistry
from tests.serving import clean_env, sophia

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
    tmp_path: Path, local_corpus: CorpusService, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    config = _config(home, local_corpus)
    env = clean_env(home, SOPHIA_CONFIG=str(config))
    result = sophia(env, "research", QUESTION, "--depth", "quick", "--mode", "extractive", "--json")
    report = json.loads(result.stdout)
    urls = {c["url"] for c in report["citations"]}
    assert f"{local_corpus.base_url}/www.postgresql.org/docs/15/kernel-resources.html" in urls
    assert all(c["citation"] in {s["n"] for s in report["citations"]} for c in report["claims"])
    monkeypatch.setenv("SOPHIA_HOME", str(home))
    monkeypatch.setenv("SOPHIA_CONFIG", str(config))
    missing = CliRunner().invoke(cli_app, ["research", QUESTION, "--sources", "tavily"])
    assert missing.exit_code == 2 and "research.source.tavily.api_key" in missing.output


async def test_post_v1_research_needs_a_key_and_streams_progress(
    _isolated_sophia_home: Path, _sqlite_template: Path, local_corpus: CorpusService
) -> None:
    home = _isolated_sophia_home
    shutil.copyfile(_sqlite_template, home / "sophia.db")
    settings = load_settings(
        _config(home, local_corpus), overrides={"home": home, "server": {"run_worker": False}}
    )
    app = create_app(settings, mcp=False)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://test", timeout=120) as client,
    ):
        services: Services = app.state.services
        user = await services.accounts.create_user("ada", Role.MEMBER)
        _, key = await services.accounts.create_api_key(user.id, "research")
        body = {"question": QUESTION, "depth": "quick", "mode": "extractive"}
        assert (await client.post("/v1/research", json=body)).status_code == 401
        auth = {"Authorization": f"Bearer {key}"}
        answer = await client.post("/v1/research", json=body, headers=auth)
        assert answer.status_code == 200, answer.text
        assert answer.json()["object"] == "research.report" and answer.json()["citations"]
        async with client.stream(
            "POST", "/v1/research", json={**body, "stream": True}, headers=auth
        ) as stream:
            events = [
                line.split(": ", 1)[1] async for line in stream.aiter_lines() if line.startswith("event: ")
            ]
        assert events[0] == "plan" and "read" in events and events[-1] == "done"
        bad = await client.post("/v1/research", json={**body, "sources": ["nope"]}, headers=auth)
        assert bad.status_code == 400


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
    context = ToolContext(user_id=1, user_name="ada", role=Role.MEMBER)
    hits = await registry.get("research.search").function(query="overcommit", context=context)
    assert any(h["url"].startswith("https://www.kernel.org/") for h in hits)
    page = await registry.get("research.fetch").function(url=hits[0]["url"])
    assert page["passages"] and all(p["id"].startswith("p") for p in page["passages"])
    report = await registry.get("research.report").function(question=QUESTION, context=context, depth="quick")
    assert report["citations"] and report["markdown"].startswith("# ")


def test_sophia_run_agent_research_is_a_durable_run_with_the_report_as_output(
    tmp_path: Path, local_corpus: CorpusService
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = clean_env(home, SOPHIA_CONFIG=str(_config(home, local_corpus)))
    result = sophia(env, "run", "--agent", "research", QUESTION)
    assert "succeeded" in result.stdout, result.stdout
    report = json.loads(
        result.stdout[result.stdout.index('{"object": "research.report"') :].replace("\n", "")
    )
    assert f"{local_corpus.base_url}/www.postgresql.org/docs/15/kernel-resources.html" in {
        c["url"] for c in report["citations"]
    }
