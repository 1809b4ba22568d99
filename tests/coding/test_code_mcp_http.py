"""The `code` MCP server over `sophia serve`'s streamable HTTP, driven by the official MCP client with an API key: a
call names a workspace that `[coding] workspaces` allows (by folder name or path) and maps, edits, tests, commits,
pushes and opens a draft PR there (push and PR approved in the client); a call naming any other directory, or none,
is refused without touching anything."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import mcp_types as types
import pytest
from mcp.client.streamable_http import streamable_http_client

from mcp import Client
from tests.coding.conftest import FIX, git
from tests.coding.standins import MODEL_KEY, sophia_toml
from tests.connectors.github_standin import TOKEN, GitHubStandIn
from tests.serving import clean_env, create_key, running_sophia, serve_app

pytestmark = pytest.mark.timeout(600)


@pytest.fixture
def github() -> Iterator[tuple[GitHubStandIn, str]]:
    standin = GitHubStandIn()
    with serve_app(standin.app()) as url:
        yield standin, url


def _out(result: types.CallToolResult) -> Any:
    assert not result.is_error, result.content
    if result.structured_content is None:
        block = result.content[0]
        assert isinstance(block, types.TextContent)
        try:
            return json.loads(block.text)
        except ValueError:
            return block.text
    return result.structured_content.get("result", result.structured_content)


def _refusal(result: types.CallToolResult) -> str:
    assert result.is_error, result.content
    block = result.content[0]
    assert isinstance(block, types.TextContent)
    return block.text


async def test_http_mcp_code_tools_work_only_in_an_allowed_workspace(
    tmp_path: Path, buggy_repo: tuple[Path, Path], github: tuple[GitHubStandIn, str]
) -> None:
    repo, remote = buggy_repo
    standin, github_url = github
    home = tmp_path / "home"
    home.mkdir()
    other = tmp_path / "other"
    other.mkdir()
    (other / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    config = sophia_toml("http://127.0.0.1:9", github_url, str(remote), coding=f'workspaces = ["{repo}"]')
    (home / "sophia.toml").write_text(config)
    env = clean_env(
        home,
        CODER_KEY=MODEL_KEY,
        GH_TOKEN=TOKEN,
        SOPHIA_SERVER__RUN_WORKER="false",
        SOPHIA_LOGGING__LEVEL="WARNING",
    )
    key = create_key(env, "ada", "member")
    asked: list[str] = []

    async def approve(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        asked.append(params.message)
        return types.ElicitResult(action="accept", content={"approve": True})

    with running_sophia(env, home) as server:
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=120) as http:
            transport = streamable_http_client(f"{server.url}/mcp/code", http_client=http)
            async with Client(transport, read_timeout_seconds=120, elicitation_callback=approve) as client:
                tools = {t.name: t for t in (await client.list_tools()).tools}
                no_workspace = await client.call_tool("code.edit", {"edits": FIX})
                elsewhere = await client.call_tool("code.edit", {"edits": FIX, "workspace": str(other)})
                escaping = await client.call_tool("code.map", {"task": "x", "workspace": f"{repo}/../other"})
                mapped = _out(await client.call_tool("code.map", {"task": "add", "workspace": "repo"}))
                edited = _out(await client.call_tool("code.edit", {"edits": FIX, "workspace": str(repo)}))
                tested = _out(await client.call_tool("code.test", {"workspace": "repo"}))
                commit = {"message": "Fix add", "branch": "sophia/fix-add", "workspace": "repo"}
                committed = _out(await client.call_tool("code.commit", commit))
                pushed = _out(
                    await client.call_tool("code.push", {"branch": "sophia/fix-add", "workspace": "repo"})
                )
                pull = {"title": "Fix add", "body": "b", "branch": "sophia/fix-add", "base": "main"}
                opened = _out(await client.call_tool("code.pr", {**pull, "workspace": "repo"}))

    assert "workspace" in tools["code.edit"].input_schema["properties"]
    assert "name the workspace" in _refusal(no_workspace) and "(repo)" in _refusal(no_workspace)
    assert "is not an allowed workspace" in _refusal(elsewhere)
    assert "is not an allowed workspace" in _refusal(escaping)
    assert (other / "calc.py").read_text().count("a - b") == 1  # the refused edits touched nothing
    assert "def add(a, b)" in mapped
    assert edited["applied"] == ["calc.py"] and tested["passed"] is True and committed["created"] is True
    assert pushed["pushed"] is True
    assert git(remote, "rev-parse", "sophia/fix-add").strip() == committed["commit"]
    assert opened["created"] is True and opened["draft"] is True and len(standin.pulls) == 1
    assert len(asked) == 2 and "code.push" in asked[0] and "code.pr" in asked[1]
    assert standin.mismatches == []
