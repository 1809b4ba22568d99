"""The dashboard in real Chromium against a real server answering from the bundled local model."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.serving import free_port

pytestmark = [pytest.mark.slow, pytest.mark.local_llm]
playwright = pytest.importorskip("playwright.sync_api")
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
ADMIN_PASSWORD = "admin-password-123"
MEMBER_PASSWORD = "member-password-123"
LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    pytest.importorskip("llama_cpp")
    home = tmp_path_factory.mktemp("web-browser")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPHIA_")}
    env.update(
        SOPHIA_HOME=str(home), SOPHIA_LOGGING__LEVEL="WARNING", NO_PROXY="*", WEB_TEST_SCRIPTED_RUNS="1"
    )
    port = free_port()
    log = (home / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "tests.web.serve_app:app", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=Path(__file__).resolve().parents[2],
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert process.poll() is None, (home / "serve.log").read_text()
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)
        log.close()


@pytest.fixture(scope="module")
def browser(server: str) -> Iterator[object]:
    with playwright.sync_playwright() as p:
        launched = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield launched
        launched.close()


def shoot(page: object, name: str) -> None:
    """A laptop and a phone screenshot of the current page."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, size in (("laptop", LAPTOP), ("phone", PHONE)):
        page.set_viewport_size(size)  # type: ignore[attr-defined]
        page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=label == "laptop")  # type: ignore[attr-defined]
    page.set_viewport_size(LAPTOP)  # type: ignore[attr-defined]


def sign_in(page: object, url: str, name: str, password: str) -> None:
    page.goto(f"{url}/login")  # type: ignore[attr-defined]
    page.fill("input[name=name]", name)  # type: ignore[attr-defined]
    page.fill("input[name=password]", password)  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_url("**/chat")  # type: ignore[attr-defined]


def test_setup_chat_usage_and_a_member_kept_out_of_the_admins_conversation(
    server: str, browser: object
) -> None:
    context = browser.new_context(viewport=LAPTOP)  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(server)
    page.wait_for_url("**/setup")
    shoot(page, "setup")
    page.fill("input[name=name]", "admin")
    page.fill("input[name=password]", ADMIN_PASSWORD)
    page.fill("input[name=repeat]", ADMIN_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/chat")
    shoot(page, "chat-empty")

    page.select_option("select[name=model]", "local")
    page.fill("textarea[name=content]", "Say hello to the <b>team</b> <script>window.pwned=1</script>")
    page.click("button:has-text('Start chat')")
    page.wait_for_url("**/chat/*")
    answer = page.locator("article.msg.assistant").last
    answer.locator("footer.meta").wait_for(timeout=60_000)  # rendered once the stream's `done` event arrives
    assert answer.locator(".chip").first.inner_text() == "local"
    assert "tokens" in answer.locator("footer.meta").inner_text()
    assert page.evaluate("window.pwned") is None
    assert "<script>window.pwned=1</script>" in page.locator("article.msg.user .body").inner_text()
    request_id = answer.get_attribute("data-request-id")
    assert request_id
    conversation_url = page.url
    shoot(page, "chat")

    page.fill("textarea[name=content]", "What did I ask the team?")
    page.keyboard.press("Enter")
    second = page.locator("article.msg.assistant").nth(1)
    second.locator("footer.meta").wait_for(timeout=60_000)
    assert second.locator(".citations a").count() >= 1  # the first turn was remembered and recalled
    shoot(page, "chat-citations")

    page.goto(f"{server}/memory?q=hello+team")
    hit = page.locator("article.hit").first
    hit.wait_for()
    assert "Say hello" in page.locator(".hits").inner_text()
    hit.locator("summary").click()
    assert "Final" in hit.locator(".reasons").inner_text()
    shoot(page, "memory")
    hit.locator("a:has-text('Open')").click()
    page.wait_for_url("**/memory/*")
    shoot(page, "memory-detail")

    deadline = time.monotonic() + 10
    while True:  # the ledger is written in batches, a moment after the answer
        page.goto(f"{server}/usage")
        if page.locator(f"tr[data-request='{request_id}']").count() or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    row = page.locator(f"tr[data-request='{request_id}']").first
    assert "local" in row.inner_text() and "$0.00" in row.inner_text()
    shoot(page, "usage")

    page.goto(f"{server}/runs")
    page.fill("input[name=task]", "Write the launch note for Friday")
    page.click("button:has-text('Start run')")
    page.wait_for_url("**/runs/run_*")
    page.locator("section.approval").wait_for(timeout=30_000)  # the page polls until the worker asks
    assert "notes.write" in page.locator("section.approval").inner_text()
    shoot(page, "run-waiting")
    run_url = page.url
    page.goto(f"{server}/approvals")  # every held call, wherever it was held; decided in place with HTMX
    assert "notes.write" in page.locator("section.approval").inner_text()
    shoot(page, "approvals")
    page.click("section.approval button:has-text('Approve')")
    page.locator("section.approval .chip:has-text('approved')").wait_for(timeout=10_000)
    page.goto(run_url)
    page.locator(".run-output").wait_for(timeout=30_000)
    assert "finished: saved launch" in page.locator(".run-output").inner_text()
    assert "succeeded" in page.locator(".page-head").inner_text()
    shoot(page, "run-done")
    page.goto(f"{server}/runs")
    shoot(page, "runs")

    page.goto(f"{server}/keys")
    page.click("button:has-text('Create key')")
    assert page.locator("#new-key").input_value().startswith("sph_")
    shoot(page, "keys")
    for name in ("models", "admin/users", "admin/audit"):
        page.goto(f"{server}/{name}")
        shoot(page, name.replace("/", "-"))

    page.goto(f"{server}/admin/users")
    page.fill("form[action='/admin/users'] input[name=name]", "mia")
    page.fill("form[action='/admin/users'] input[name=password]", MEMBER_PASSWORD)
    page.click("button:has-text('Add user')")
    page.locator("tr[data-user='mia']").wait_for()

    member_context = browser.new_context(viewport=LAPTOP)  # type: ignore[attr-defined]
    member = member_context.new_page()
    sign_in(member, server, "mia", MEMBER_PASSWORD)
    response = member.goto(conversation_url)
    assert response is not None and response.status == 404
    assert "Say hello" not in member.content()
    shoot(member, "member-denied")
    member_context.close()
    context.close()
