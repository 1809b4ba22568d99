"""The dashboard's run page for a code run, in real Chromium: the diff with its added and removed lines, each
check's output and the pull request — for a run `sophia code` made against the stand-ins."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.coding.conftest import FIX
from tests.coding.standins import MODEL_KEY, CoderStandIn, sophia_toml
from tests.connectors.github_standin import TOKEN, GitHubStandIn
from tests.serving import clean_env, running_sophia, serve_app, sophia

# `sophia code`, then a real `sophia serve` and Chromium start first, slow on a loaded machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
playwright = pytest.importorskip("playwright.sync_api")
CHROMIUM = Path("/usr/bin/chromium")
PASSWORD = "admin-password-123"


@pytest.fixture
def standins() -> Iterator[tuple[str, str]]:
    with serve_app(CoderStandIn(FIX).app()) as model_url, serve_app(GitHubStandIn().app()) as github_url:
        yield model_url, github_url


def test_the_run_page_shows_the_diff_and_the_check_output_of_a_code_run(
    tmp_path: Path, buggy_repo: tuple[Path, Path], standins: tuple[str, str]
) -> None:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is not installed (apt-get install -y chromium)")
    repo, remote = buggy_repo
    home = tmp_path / "home"
    home.mkdir()
    (home / "sophia.toml").write_text(sophia_toml(*standins, str(remote)))
    env = clean_env(home, CODER_KEY=MODEL_KEY, GH_TOKEN=TOKEN, SOPHIA_SERVER__RUN_WORKER="false")
    done = sophia(env, "code", "add() subtracts; fix it", "--repo", str(repo), "--approve", check=False)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]

    with running_sophia(env, home) as server, playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page()
            page.goto(server.url)
            page.wait_for_url("**/setup")
            page.fill("input[name=name]", "admin")
            page.fill("input[name=password]", PASSWORD)
            page.fill("input[name=repeat]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url("**/chat")
            page.goto(f"{server.url}/runs")
            page.click("text=add() subtracts; fix it")
            page.wait_for_url("**/runs/run_*")
            assert page.locator(".diff .del").inner_text() == "-    return a - b"
            assert page.locator(".diff .add").inner_text() == "+    return a + b"
            check = page.locator("details.check-output").first
            assert "python3 -m pytest" in check.locator("summary").inner_text()
            assert check.locator(".chip").inner_text() == "passed"
            check.locator("summary").click()
            assert "2 passed" in check.locator("pre").inner_text()
            summary = page.locator(".code-summary").inner_text()
            assert "pull request: https://github.com/octo/app/pull/1" in summary
            assert TOKEN not in page.content()
        finally:
            browser.close()
