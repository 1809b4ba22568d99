"""The `code` MCP server over stdio, driven by the official MCP client on a local checkout: map, search, edit,
test, commit, push and a draft pull request (push and PR approved in the client) through the GitHub connector."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mcp_types as types
import pytest

from mcp import Client, StdioServerParameters
from tests.coding.conftest import FIX, git
from tests.coding.standins import MODEL_KEY, sophia_toml
from tests.connectors.github_standin import TOKEN, GitHubStandIn
from tests.serving import clean_env, serve_app, sophia

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def github() -> Iterator[tuple[GitHubStandIn, str]]:
    standin = GitHubStandIn()
    with serve_app(standin.app()) as url:
        yield standin, url


def _out(result: types.CallToolResult) -> Any:
    assert not result.is_error, result.content
    if result.structured_content is None:  # a text answer: the map, or a list as JSON
        block = result.content[0]
        assert isinstance(block, types.TextContent)
        try:
            return json.loads(block.text)
        except ValueError:
            return block.text
    return result.structured_content.get("result", result.structured_content)


async def test_the_code_server_maps_edits_tests_commits_pushes_and_opens_a_draft_pull_request(
    tmp_path: Path, buggy_repo: tuple[Path, Path], github: tuple[GitHubStandIn, str]
) -> None:
    repo, remote = buggy_repo
    standin, github_url = github
    home = tmp_path / "home"
    home.mkdir()
    config = sophia_toml("http://127.0.0.1:9", github_url, str(remote))
    (home / "sophia.toml").write_text(config + f'\n[tools]\nworkspace_roots = ["{tmp_path}"]\n')
    env = clean_env(home, CODER_KEY=MODEL_KEY, GH_TOKEN=TOKEN)
    asked: list[str] = []

    async def approve(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        asked.append(params.message)
        return types.ElicitResult(action="accept", content={"approve": True})

    parameters = StdioServerParameters(
        command=sys.executable,
        args=["-m", "sophia", "mcp", "serve", "code", "--transport", "stdio", "--workspace", str(repo)],
        env=env,
        cwd=str(ROOT),
    )
    async with Client(parameters, read_timeout_seconds=120, elicitation_callback=approve) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        mapped = _out(await client.call_tool("code.map", {"task": "add subtracts"}))
        found = _out(await client.call_tool("code.search", {"query": "add"}))
        edited = _out(await client.call_tool("code.edit", {"edits": FIX}))
        tested = _out(await client.call_tool("code.test", {}))
        committed = _out(
            await client.call_tool("code.commit", {"message": "Fix add", "branch": "sophia/fix-add"})
        )
        pushed = _out(await client.call_tool("code.push", {"branch": "sophia/fix-add"}))
        title = {"title": "Fix add", "body": "add() subtracted", "branch": "sophia/fix-add", "base": "main"}
        opened = _out(await client.call_tool("code.pr", title))
        again = _out(await client.call_tool("code.pr", title))
        checks = _out(await client.call_tool("code.checks", {"ref": "sophia/fix-add"}))

    assert {"code.map", "code.search", "code.edit", "code.test", "code.commit", "code.pr"} <= names
    assert "calc.py" in mapped and "def add(a, b)" in mapped
    assert {"path": "calc.py", "line": 1, "text": "def add(a, b)", "kind": "definition"} in found
    assert edited["applied"] == ["calc.py"] and edited["refused"] == []
    assert tested["passed"] is True and tested["results"][0]["status"] == "passed"
    assert committed["created"] is True
    assert (
        pushed["pushed"] is True and git(remote, "rev-parse", "sophia/fix-add").strip() == committed["commit"]
    )
    assert opened["created"] is True and opened["draft"] is True and again["created"] is False
    assert len(standin.pulls) == 1 and checks[0]["name"] == "mighty_readme"
    assert len(asked) == 3 and "code.push" in asked[0] and "code.pr" in asked[1]  # push, then each PR call
    assert standin.mismatches == []
    refused = sophia(env, "mcp", "serve", "code", "--workspace", "/etc", check=False)
    assert refused.returncode != 0 and "outside the allowed roots" in refused.stdout + refused.stderr
