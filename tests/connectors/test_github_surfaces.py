"""`sophia connectors call github …` through the CLI against the GitHub stand-in: dry run, approval, the call."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sophia.cli import app as cli_app
from tests.connectors.github_standin import TOKEN, GitHubStandIn
from tests.serving import serve_app

runner = CliRunner()
PULL = json.dumps({"owner": "octo", "repo": "app", "head": "feature", "base": "main", "title": "Add it"})


@pytest.fixture(scope="module")
def standin() -> Iterator[tuple[GitHubStandIn, str]]:
    service = GitHubStandIn()
    with serve_app(service.app()) as url:
        yield service, url


@pytest.fixture
def configured(tmp_path: Path, standin: tuple[GitHubStandIn, str], monkeypatch: pytest.MonkeyPatch) -> Path:
    standin[0].reset()
    config = tmp_path / "sophia.toml"
    config.write_text(
        f'[connectors.github]\nbase_url = "{standin[1]}"\ncredentials = {{ token = "env:GITHUB_TOKEN" }}\n'
    )
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("COLUMNS", "200")
    return config


def _cli(config: Path, *args: str) -> Any:
    return runner.invoke(cli_app, ["--config", str(config), *args])


def test_cli_opens_a_draft_pull_request_after_approval(
    configured: Path, standin: tuple[GitHubStandIn, str]
) -> None:
    service = standin[0]
    checked = _cli(configured, "connectors", "check", "github")
    assert checked.exit_code == 0 and "signed in to GitHub as octocat" in checked.output
    dry = _cli(configured, "connectors", "call", "github", "pulls.create", "--args", PULL, "--dry-run")
    assert dry.exit_code == 0, dry.output
    preview = json.loads(dry.output)
    assert preview["request"]["method"] == "POST" and preview["request"]["url"].endswith(
        "/repos/octo/app/pulls"
    )
    assert preview["request"]["body"]["draft"] is True and TOKEN not in dry.output
    assert service.writes() == []
    held = _cli(configured, "connectors", "call", "github", "pulls.create", "--args", PULL)
    assert held.exit_code == 3 and "sophia approvals approve" in held.output
    approval_id = held.output.split("approve ")[1].split("`")[0]
    approved = _cli(configured, "approvals", "approve", approval_id)
    assert approved.exit_code == 0, approved.output
    assert [p["title"] for p in service.pulls] == ["Add it"] and service.pulls[0]["draft"] is True
    read = _cli(
        configured,
        "connectors",
        "call",
        "github",
        "pulls.get",
        "--args",
        json.dumps({"owner": "octo", "repo": "app", "number": 1}),
    )
    assert read.exit_code == 0 and '"html_url": "https://github.com/octo/app/pull/1"' in read.output
    assert service.mismatches == []


async def test_one_action_through_the_integrations_mcp_server(
    tmp_path: Path,
    _sqlite_template: Path,
    standin: tuple[GitHubStandIn, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import shutil

    from mcp import Client
    from sophia.config import ConnectorSettings, Settings
    from sophia.mcp import build_server, open_runtime
    from sophia.store import Database

    standin[0].reset()
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    shutil.copyfile(_sqlite_template, tmp_path / "sophia.db")
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'sophia.db'}")
    connectors = {"github": ConnectorSettings(base_url=standin[1], credentials={"token": "env:GITHUB_TOKEN"})}
    runtime = await open_runtime(Settings(home=tmp_path, connectors=connectors), database, embedder="hashing")
    try:
        async with Client(build_server("integrations", runtime)) as client:
            names = {tool.name for tool in (await client.list_tools()).tools}
            assert {"github.pulls.create", "github.checks.list"} <= names
            result = await client.call_tool("github.repos.get", {"owner": "octo", "repo": "app"})
            text = json.dumps([getattr(block, "text", "") for block in result.content])
            assert "octo/app" in text and "https://github.com/octo/app" in text and TOKEN not in text
    finally:
        await runtime.aclose()
        await database.close()
    assert standin[0].mismatches == []
