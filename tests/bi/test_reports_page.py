"""The reports page in real Chromium against a real `sophia serve`: the server's own schedule renders the weekly
pipeline at its first tick and delivers it to the Slack stand-in; the page lists it and draws its Vega-Lite chart
with the vendored vega-embed under the page's CSP (no eval, no CDN)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sophia.business import BusinessStore
from sophia.config import load_settings
from sophia.store import open_database
from tests.bi.report_standins import SLACK_TOKEN, SlackStandIn, slack_standin
from tests.business.generator import generate
from tests.serving import Server, clean_env, running_sophia

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
playwright = pytest.importorskip("playwright.sync_api")
CHROMIUM = Path("/usr/bin/chromium")
PASSWORD = "admin-password-123"


async def _seed(config: Path) -> None:
    database = await open_database(load_settings(config), migrate=True)
    try:
        await BusinessStore(database).upsert(generate(5, "small").entities())
    finally:
        await database.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, SlackStandIn]]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    home = tmp_path_factory.mktemp("reports-page")
    with slack_standin() as slack:
        config = home / "sophia.toml"
        config.write_text(
            f'home = "{home}"\n'
            f'[connectors.team]\nkind = "slack"\nbase_url = "{slack.url}"\n'
            'credentials = { token = "env:SLACK_TOKEN" }\n'
            '[bi.reports.weekly_pipeline]\nkind = "pipeline"\nevery = "mon 08:00"\n'
            'deliver = ["slack:team#C012AB3CD"]\n'
        )
        asyncio.run(_seed(config))
        env = clean_env(
            home, SOPHIA_CONFIG=str(config), SOPHIA_LOGGING__LEVEL="WARNING", SLACK_TOKEN=SLACK_TOKEN
        )
        with running_sophia(env, home) as server:
            yield server, slack


def test_the_reports_page_lists_the_delivered_report_and_draws_its_chart(
    served: tuple[Server, SlackStandIn],
) -> None:
    server, slack = served
    deadline = time.monotonic() + 120
    while not slack.uploads and time.monotonic() < deadline:  # the first tick runs at start-up
        time.sleep(0.2)
    assert slack.uploads and slack.uploads[0].startswith(b"\x89PNG"), server.log()[-2000:]
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
            problems: list[str] = []
            page.goto(server.url)
            page.wait_for_url("**/setup")
            page.fill("input[name=name]", "admin")
            page.fill("input[name=password]", PASSWORD)
            page.fill("input[name=repeat]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url("**/chat")
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("response", lambda r: problems.append(r.url) if r.status >= 400 else None)
            page.goto(f"{server.url}/bi/reports")
            report = page.locator(".bi-report").first
            assert report.get_attribute("data-status") == "delivered"
            assert "slack:team#C012AB3CD" in report.inner_text()
            assert "Open pipeline" in report.locator(".report-text").inner_text()
            assert (
                report.locator(".report-text table tr").count() > 1
            )  # the stage table rendered from markdown
            chart = report.locator(".vega-chart")
            page.wait_for_selector(".vega-chart[data-rendered]", timeout=30_000)
            assert chart.get_attribute("data-rendered") == "true", chart.inner_text()
            bars = chart.locator("svg .mark-rect path")
            assert bars.count() >= 1
            assert "Expected pipeline by stage" in (chart.locator("svg").text_content() or "")
            assert page.locator("#configured-reports").inner_text().count("weekly_pipeline") == 1
            assert problems == []
        finally:
            browser.close()
