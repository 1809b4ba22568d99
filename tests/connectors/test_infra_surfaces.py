"""The infra connectors through their surfaces: `sophia connectors call` and the `infra` MCP server, over real HTTP."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mcp import Client
from sophia.cli import app as cli_app
from sophia.config import ConnectorSettings, Settings
from sophia.mcp import McpRuntime, build_server, open_runtime
from sophia.store import Database
from tests.connectors import test_fly, test_lambda
from tests.connectors.openapi import SpecService, spec_app
from tests.serving import serve_app

runner = CliRunner()


@pytest.fixture(scope="module")
def lambda_service() -> Iterator[tuple[SpecService, str]]:
    service = SpecService(test_lambda.SPEC, dict(test_lambda.ROUTES))
    with serve_app(spec_app(service)) as url:
        yield service, url


@pytest.fixture(scope="module")
def fly_service() -> Iterator[tuple[SpecService, str]]:
    service = SpecService(test_fly.SPEC, test_fly._routes())
    with serve_app(spec_app(service)) as url:
        yield service, url


def test_cli_calls_lambda_and_a_terminate_dry_run_sends_nothing(
    tmp_path: Path, lambda_service: tuple[SpecService, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    service, url = lambda_service
    service.requests.clear()
    config = tmp_path / "sophia.toml"
    config.write_text(
        f'[connectors.lambda]\nbase_url = "{url}/api/v1"\nrequests_per_second = 1000\n'
        'credentials = { token = "env:LAMBDA_KEY" }\n'
    )
    monkeypatch.setenv("LAMBDA_KEY", test_lambda.KEY)
    monkeypatch.setenv("COLUMNS", "200")
    listed = runner.invoke(
        cli_app,
        [
            "--config",
            str(config),
            "connectors",
            "call",
            "lambda",
            "instance_types.list",
            "--args",
            '{"available_only": true}',
        ],
    )
    assert listed.exit_code == 0, listed.output
    assert [t["name"] for t in json.loads(listed.output)] == ["gpu_1x_a100_sxm4"]
    dry = runner.invoke(
        cli_app,
        [
            "--config",
            str(config),
            "connectors",
            "call",
            "lambda",
            "instances.terminate",
            "--args",
            '{"instance_ids": ["i-1"]}',
            "--dry-run",
        ],
    )
    assert dry.exit_code == 0, dry.output
    preview = json.loads(dry.output)
    assert preview["request"]["url"].endswith("/api/v1/instance-operations/terminate")
    assert preview["request"]["body"] == {"instance_ids": ["i-1"]} and test_lambda.KEY not in dry.output
    assert [r.url.path for r in service.requests] == ["/api/v1/instance-types"]
    held = runner.invoke(
        cli_app,
        [
            "--config",
            str(config),
            "connectors",
            "call",
            "lambda",
            "instances.terminate",
            "--args",
            '{"instance_ids": ["i-1"]}',
        ],
    )
    assert held.exit_code == 3 and "sophia approvals approve" in held.output, "a terminate waits for approval"


@pytest.fixture
async def sqlite_database(tmp_path: Path, _sqlite_template: Path) -> AsyncIterator[Database]:
    """SQLite only, as the MCP tests use (memory's keyword index is SQLite FTS5)."""
    target = tmp_path / "db" / "sophia.db"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_sqlite_template, target)
    database = Database(f"sqlite+aiosqlite:///{target}")
    yield database
    await database.close()


@pytest.fixture
async def infra_runtime(
    sqlite_database: Database,
    tmp_path: Path,
    fly_service: tuple[SpecService, str],
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[McpRuntime]:
    monkeypatch.setenv("FLY_TOKEN", test_fly.TOKEN)
    settings = Settings(
        home=tmp_path,
        connectors={
            "fly": ConnectorSettings(
                base_url=f"{fly_service[1]}/v1",
                credentials={"token": "env:FLY_TOKEN"},
                requests_per_second=1000,
            )
        },
    )
    built = await open_runtime(settings, sqlite_database, embedder="hashing")
    yield built
    await built.aclose()


async def test_the_infra_mcp_server_lists_fly_with_hints_and_runs_a_read_and_a_dry_destroy(
    infra_runtime: McpRuntime, fly_service: tuple[SpecService, str]
) -> None:
    service = fly_service[0]
    service.requests.clear()
    async with Client(build_server("infra", infra_runtime)) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert "fly.machines.list" in tools and all(name.startswith("fly.") for name in tools)
        destroy = tools["fly.machines.destroy"].annotations
        assert destroy is not None and destroy.destructive_hint is True
        listed = await client.call_tool("fly.machines.list", {"app_name": "web"})
        dry = await client.call_tool(
            "fly.machines.destroy", {"app_name": "web", "machine_id": "m1", "dry_run": True}
        )
    assert not listed.is_error
    block: Any = listed.content[0]
    rows = listed.structured_content or json.loads(block.text)
    rows = rows.get("result", rows) if isinstance(rows, dict) else rows
    assert [m["id"] for m in rows] == ["3d8d9014b32e89", "148ed193b95589"]
    assert not dry.is_error and dry.structured_content is not None
    assert dry.structured_content["request"]["method"] == "DELETE"
    assert [r.method for r in service.requests] == ["GET"], "the dry run sent nothing"
