"""The dashboard's Research page in real Chromium against a real `sophia serve` (its hosted worker executes the
research run against the corpus service): ask, watch the progress, hover a citation to see the quoted passage,
click it to reach the source."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from bench.research_corpus import CorpusIndex, CorpusService

from tests.serving import Server, clean_env, running_sophia

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
playwright = pytest.importorskip("playwright.sync_api")
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
PASSWORD = "admin-password-123"
QUESTION = "Which vm.overcommit_memory value does PostgreSQL 15 recommend on Linux?"


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, corpus_index: CorpusIndex
) -> Iterator[tuple[Server, str]]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    home = tmp_path_factory.mktemp("research-page")
    with CorpusService(corpus_index, local_urls=True) as corpus:
        config = home / "sophia.toml"
        config.write_text(
            f'[research]\nsources = ["searxng"]\nmode = "extractive"\n[research.source.searxng]\n'
            f'base_url = "{corpus.base_url}"\n[tools.web]\nallowed_hosts = ["127.0.0.1:{corpus.port}"]\n'
        )
        env = clean_env(home, SOPHIA_CONFIG=str(config), SOPHIA_LOGGING__LEVEL="WARNING")
        with running_sophia(env, home) as server:
            yield server, corpus.base_url


def test_the_research_page_shows_a_report_whose_citations_quote_and_link_their_sources(
    served: tuple[Server, str],
) -> None:
    server, corpus_url = served
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
            page.goto(server.url)
            page.wait_for_url("**/setup")
            page.fill("input[name=name]", "admin")
            page.fill("input[name=password]", PASSWORD)
            page.fill("input[name=repeat]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url("**/chat")

            page.click("nav >> text=Research")
            page.wait_for_url("**/research")
            page.fill("input[name=question]", QUESTION)
            page.select_option("select[name=depth]", "quick")
            page.click("button:has-text('Research')")
            page.wait_for_url("**/research/run_*")
            page.locator(".research-report").wait_for(timeout=240_000)  # the live view swaps the report in

            kinds = page.locator(".research-events li").evaluate_all("els => els.map(e => e.dataset.event)")
            assert kinds[0] == "plan" and "searched" in kinds and "read" in kinds
            cite = page.locator(".research-report a.cite").first
            quote = cite.locator(".quote")
            assert not quote.is_visible()
            cite.hover()
            assert quote.is_visible()
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / "research-report-laptop.png"), full_page=True)
            n = cite.get_attribute("data-citation")
            source = page.locator(f"#source-{n}")
            passage = source.locator("blockquote").inner_text()
            shown = quote.inner_text().split("” — ")[0].lstrip("“").rstrip("…")
            assert shown[:60] in " ".join(passage.split())  # the hover quotes the cited source's passage
            cite.click()
            assert page.url.endswith(f"#source-{n}")
            assert page.evaluate("document.querySelector(':target').id") == f"source-{n}"
            link = source.locator("a").first.get_attribute("href") or ""
            assert link.startswith(corpus_url + "/")
            urls = page.locator(".sources a").evaluate_all("els => els.map(e => e.href)")
            assert f"{corpus_url}/www.postgresql.org/docs/15/kernel-resources.html" in urls
            report_url = page.url.split("#")[0]
            page.click(".page-head a:has(code)")  # the run's own page links back to its report
            page.wait_for_url("**/runs/run_*")
            page.click("text=Open the research report")
            page.wait_for_url(report_url)
        finally:
            browser.close()
