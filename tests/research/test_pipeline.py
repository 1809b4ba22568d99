"""The pipeline end to end over the offline corpus: the real SearXNG source, the real fetcher, extractive mode."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from bench.research_corpus import CorpusService

from sophia.memory import MemoryKind, MemoryService
from sophia.research import (
    Document,
    ResearchPipeline,
    ResearchService,
    SearchResult,
    contains_quote,
)

QUESTION = "Which vm.overcommit_memory value does PostgreSQL 15 recommend on Linux, and what is the kernel's default?"


async def test_extractive_report_cites_both_products_from_pages_it_read(
    make_service: Callable[..., ResearchService], corpus: CorpusService
) -> None:
    service = make_service()
    report = await service.research(QUESTION, mode="extractive")
    urls = {p.url for p in report.citations}
    assert "https://www.postgresql.org/docs/15/kernel-resources.html" in urls
    assert "https://www.kernel.org/doc/html/v6.1/admin-guide/sysctl/vm.html" in urls
    fetched = service.reader.fetched
    for claim in report.claims:  # every citation is a passage of a page that was really read
        passage = next(p for p in report.citations if p.id == claim.passage_id)
        assert passage.url in fetched
        assert contains_quote(fetched[passage.url].text, passage.text)
        assert contains_quote(passage.text, claim.quote)
    assert any("vm.overcommit_memory to 2" in c.quote for c in report.claims)
    assert any("The default value is 0." in p.text for p in report.citations)
    assert report.mode == "extractive" and report.stats["pages_read"] >= 2
    assert "[1]" in report.markdown and "## Sources" in report.markdown
    assert 0 < report.confidence <= 1


async def test_planning_splits_the_question_into_sub_questions(
    make_service: Callable[..., ResearchService],
) -> None:
    report = await make_service().research(QUESTION, mode="extractive")
    assert report.sub_questions[0] == QUESTION and len(report.sub_questions) >= 3
    planned_off = await make_service().research(QUESTION, mode="extractive", plan=False)
    assert planned_off.sub_questions == [QUESTION]


async def test_a_question_nothing_answers_is_reported_unanswered(
    make_service: Callable[..., ResearchService],
) -> None:
    report = await make_service().research("zyzzyva quokka marmalade", mode="extractive")
    assert report.claims == [] and report.unanswered == report.sub_questions
    assert report.confidence == 0 and "Not answered" in report.markdown


class _HangingSource:
    name = "hangs"

    async def search(self, query: str, k: int) -> list[SearchResult]:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def fetch(self, url: str) -> Document:
        raise AssertionError("never asked")


async def test_a_hanging_source_times_out_and_the_run_goes_on(
    make_service: Callable[..., ResearchService],
) -> None:
    service = make_service()
    sources: dict[str, Any] = dict(service.sources(["searxng"], ["global"]))
    sources["hangs"] = _HangingSource()
    events: list[tuple[str, dict[str, Any]]] = []

    async def sink(kind: str, data: dict[str, Any]) -> None:
        events.append((kind, data))

    pipeline = ResearchPipeline(sources, settings=service.settings.research, source_timeout=0.2)
    report = await pipeline.run(QUESTION, depth="quick", sources=["searxng", "hangs"], on_event=sink)
    assert report.claims and report.stats["source_errors"] >= 1
    assert any(kind == "source_error" and data["source"] == "hangs" for kind, data in events)
    assert any(kind == "read" for kind, _ in events) and events[-1][0] == "report"


async def test_findings_are_remembered_and_recalled_before_searching_again(
    make_service: Callable[..., ResearchService], memory: MemoryService, corpus: CorpusService
) -> None:
    first = await make_service(memory=memory).research(QUESTION, user_id=7, mode="extractive")
    stored = await memory.recall("overcommit", ["user:7"], kinds=[MemoryKind.RESEARCH], k=20)
    assert {h.memory.source for h in stored} >= {p.url for p in first.citations[:1]}
    searches = corpus.searches
    again = await make_service(memory=memory).research(
        "vm.overcommit_memory PostgreSQL", user_id=7, sources=["memory"], mode="extractive"
    )
    assert corpus.searches == searches  # memory alone answered
    assert again.claims and all(p.source == "memory" for p in again.citations)
    # a citation from memory still names the page the finding was read on
    assert {p.url.split("#memory-")[0] for p in again.citations} <= {p.url for p in first.citations}
