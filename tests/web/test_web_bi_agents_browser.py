"""`/bi/recruit` and `/bi/strategy` in real Chromium against a real `sophia serve` on a generated business."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from sophia.business import BusinessStore
from sophia.config import load_settings
from sophia.store import open_database
from tests.bi.test_recruit import ANA, BEN, ROLE
from tests.business.generator import generate
from tests.serving import clean_env, running_sophia
from tests.web.test_web_browser import ADMIN_PASSWORD, CHROMIUM, shoot

pytestmark = [pytest.mark.slow]
playwright = pytest.importorskip("playwright.sync_api")


def test_an_admin_adds_a_role_and_resumes_and_reads_the_strategy() -> None:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    home = Path(os.environ["SOPHIA_HOME"])
    business = generate(5, "small")

    async def seed() -> None:
        database = await open_database(load_settings(), migrate=True)
        try:
            await BusinessStore(database).upsert(business.entities())
        finally:
            await database.close()

    asyncio.run(seed())
    reasons = {d.lost_reason for d in business.deals if d.is_closed and not d.is_won and d.lost_reason}
    env = clean_env(home, SOPHIA_LOGGING__LEVEL="WARNING")
    with running_sophia(env, home) as server, playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        page.goto(server.url)
        page.wait_for_url("**/setup")
        page.fill("input[name=name]", "admin")
        page.fill("input[name=password]", ADMIN_PASSWORD)
        page.fill("input[name=repeat]", ADMIN_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/chat")

        page.goto(f"{server.url}/bi/recruit")
        assert "No roles yet" in page.inner_text("main")
        page.fill("form[action='/bi/recruit/roles'] textarea[name=text]", ROLE)
        page.click("form[action='/bi/recruit/roles'] button[type=submit]")
        page.wait_for_url("**/bi/recruit?role=senior-backend-engineer")
        for resume in (BEN, ANA):
            page.fill("form[action='/bi/recruit/candidates'] textarea[name=text]", resume)
            page.click("form[action='/bi/recruit/candidates'] button[type=submit]")
            page.wait_for_load_state()
        cards = page.locator("article.candidate")
        assert cards.count() == 2
        assert cards.first.get_attribute("data-candidate") == "ana-silva"
        assert "Tuned PostgreSQL queries" in cards.first.inner_text()
        assert "missing" in cards.nth(1).inner_text()
        shoot(page, "bi-recruit")

        page.goto(f"{server.url}/bi/strategy")
        items = page.locator("article.strategy-item")
        assert items.count() >= len(reasons)
        text = page.inner_text("main")
        assert all(f"Losses on {reason}" in text for reason in reasons)
        items.first.locator("summary").click()
        assert items.first.locator("ul.evidence li").count() >= 1
        shoot(page, "bi-strategy")
        browser.close()
