"""`sophia code` end to end as a real process: a seeded bug fixed, the branch pushed to a local bare remote through
the GitHub connector, one draft pull request opened on the GitHub stand-in and its check runs read back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.coding.conftest import FIX, git
from tests.coding.standins import MODEL_KEY, CoderStandIn, sophia_toml
from tests.connectors.github_standin import TOKEN, GitHubStandIn
from tests.serving import clean_env, serve_app, sophia

# A real `sophia serve` and `sophia` commands start first, slow on a loaded machine.
pytestmark = pytest.mark.timeout(600)


@pytest.fixture
def standins() -> Iterator[tuple[CoderStandIn, str, GitHubStandIn, str]]:
    coder, github = CoderStandIn(FIX), GitHubStandIn()
    with serve_app(coder.app()) as model_url, serve_app(github.app()) as github_url:
        yield coder, model_url, github, github_url


def test_sophia_code_fixes_the_bug_pushes_once_and_opens_one_draft_pull_request(
    tmp_path: Path,
    buggy_repo: tuple[Path, Path],
    standins: tuple[CoderStandIn, str, GitHubStandIn, str],
) -> None:
    repo, remote = buggy_repo
    coder, model_url, github, github_url = standins
    home = tmp_path / "home"
    home.mkdir()
    (home / "sophia.toml").write_text(sophia_toml(model_url, github_url, str(remote)))
    env = clean_env(home, CODER_KEY=MODEL_KEY, GH_TOKEN=TOKEN)

    done = sophia(env, "code", "add() subtracts; fix it", "--repo", str(repo), "--approve", check=False)

    said = done.stdout + done.stderr
    assert done.returncode == 0, said[-4000:]
    branch = next(line.split()[1] for line in said.splitlines() if line.startswith("branch sophia/"))
    assert "return a + b" in git(remote, "show", f"{branch}:calc.py")
    assert len((remote / "pushes.log").read_text().splitlines()) == 1
    creates = [r for r in github.received if r[:2] == ("POST", "/repos/octo/app/pulls")]
    assert len(creates) == 1 and creates[0][2]["draft"] is True and creates[0][2]["head"] == branch
    body = creates[0][2]["body"]
    assert "```diff" in body and "python3 -m pytest -q -p no:cacheprovider`: passed" in body
    assert "Before:\n- `python3 -m pytest -q -p no:cacheprovider`: failed" in body
    assert ("GET", f"/repos/octo/app/commits/{branch}/check-runs", None) in github.received
    assert "pull request: https://github.com/octo/app/pull/1" in said
    assert github.mismatches == []
    assert [m["model"] for m in coder.requests] == ["coder-1", "coder-1"]  # the edit, then the self-review
    assert TOKEN not in said and (repo / "calc.py").read_text().count("a - b") == 1
