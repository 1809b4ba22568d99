"""The business pages in real Chromium against a real `sophia serve` holding a generated business, with a model
stand-in over HTTP: KPI cards, Vega-Lite charts drawn by the vendored vega-embed under the dashboard's CSP, the
ask box (answer, SQL, cited records with links, chart), the health table and a rep's coach page with quotes."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from sophia.bi import BiService
from sophia.business import BusinessStore
from sophia.config import load_settings
from sophia.store import open_database
from tests.bi.scripted import ADVICE, AT_RISK, BOOKINGS, with_next_steps
from tests.bi.standin import MODEL_KEY, sophia_toml, standin_app
from tests.business.generator import generate
from tests.serving import clean_env, running_sophia, serve_app

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]
playwright = pytest.importorskip("playwright.sync_api")
CHROMIUM = Path("/usr/bin/chromium")
PASSWORD = "admin-password-123"


async def _seed(records: list[Any], as_of: datetime) -> None:
    """The business into the home's database, and the churn model trained on it (`sophia bi train churn`'s path)."""
    settings = load_settings()
    database = await open_database(settings, migrate=True)
    try:
        await BusinessStore(database).upsert(records)
        await BiService(database, settings.home).train_churn(as_of)
    finally:
        await database.close()


def test_the_business_overview_ask_box_and_coach_page_in_chromium(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    business = generate(4, "full")
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("SOPHIA_HOME", str(home))
    asyncio.run(_seed(with_next_steps(business.entities()), business.truth.as_of))
    requests: list[dict[str, Any]] = []
    with serve_app(standin_app(requests)) as model_url:
        (home / "sophia.toml").write_text(sophia_toml(model_url), encoding="utf-8")
        env = clean_env(home, ANALYST_KEY=MODEL_KEY, SOPHIA_LOGGING__LEVEL="WARNING")
        with running_sophia(env, home) as server, playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
            try:
                _walk(browser.new_page(), server.url, business)
            finally:
                browser.close()
    assert any(str(b["messages"][-1]["content"]) == AT_RISK for b in requests)


def _walk(page: Any, url: str, business: Any) -> None:
    problems: list[str] = []
    page.set_default_timeout(180_000)  # the overview fits two ETS models; this machine is shared and loaded
    page.on(  # a missing resource is caught by the response check below, where its address is known
        "console",
        lambda m: problems.append(m.text) if m.type == "error" and "Failed to load" not in m.text else None,
    )
    page.on(
        "response",
        lambda r: (
            problems.append(f"{r.status} {r.url}") if r.status >= 400 and "favicon" not in r.url else None
        ),
    )
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(url)
    page.wait_for_url("**/setup")
    page.fill("input[name=name]", "admin")
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=repeat]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/chat")
    page.click("nav a:has-text('Business')")
    page.wait_for_url("**/bi")
    open_deals = sum(not d.is_closed for d in business.deals)
    assert f"({open_deals} deals)" in page.inner_text("#kpi-pipeline")
    for card in ("#kpi-weighted", "#kpi-bookings", "#kpi-at-risk", "#kpi-coaching"):
        assert re.search(r"\d", page.inner_text(f"{card} b")), card
    page.wait_for_selector("#chart-bookings[data-rendered=true] svg", state="attached")
    page.wait_for_selector("#chart-coaching[data-rendered=true] svg", state="attached")
    assert page.locator("#bi-health tbody tr").count() == 20

    page.select_option("select[name=model]", "analyst")
    page.fill("input[name=question]", AT_RISK)
    page.click("#bi-ask button[type=submit]")
    page.wait_for_selector("#bi-answer .bi-citations li")
    links = page.locator("#bi-answer .bi-citations a")
    urls = {a.source_url for a in business.accounts}
    assert links.count() == 3 and all(links.nth(i).get_attribute("href") in urls for i in range(3))
    assert "FROM accounts" in page.inner_text("#bi-answer .bi-sql")
    assert page.inner_text("#bi-answer .bi-text").startswith("Most support tickets:")

    page.fill("input[name=question]", BOOKINGS)
    page.click("#bi-ask button[type=submit]")
    page.wait_for_selector("#chart-answer[data-rendered=true] svg", state="attached")

    page.click("#bi-reps tbody a >> nth=0")
    page.wait_for_url("**/bi/coach/*")
    assert page.locator("#coach-metrics .stat").count() == 4
    quotes = page.locator(".bi-quote time")
    assert quotes.count() > 0 and re.fullmatch(r"\d+:\d\d", quotes.first.inner_text())
    page.select_option("#coach-advice select[name=model]", "analyst")
    page.click("#coach-advice button[type=submit]")
    page.wait_for_selector("#coach-advice-items .bi-advice-item")
    assert page.locator(".bi-advice-item").count() == 1 and ADVICE in page.inner_text(".bi-advice-item")

    for label, path, heading in (
        ("Scheduled reports", "reports", "Scheduled reports"),
        ("Strategy", "strategy", "Strategy"),
        ("Recruiting", "recruit", "Recruiting"),  # an admin's link only
    ):
        page.goto(f"{url}/bi")
        page.click(f"#bi-subnav a:has-text('{label}')")
        page.wait_for_url(f"**/bi/{path}")
        assert page.inner_text("h1") == heading
    assert not problems, problems
