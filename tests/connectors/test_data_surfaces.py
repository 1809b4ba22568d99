"""The `data` MCP server carries the Snowflake and Airtable actions: a real MCP client lists them with their
hints, runs a read, and a Snowflake write is held for approval instead of run."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from mcp import Client
from sophia.config import ConnectorSettings, Settings
from sophia.mcp import McpRuntime, build_server, open_runtime
from sophia.store import Database
from tests.connectors.openapi import spec_app
from tests.connectors.snowflake_standin import SnowflakeService
from tests.serving import serve_app


@pytest.fixture
async def sqlite_database(tmp_path: Path, _sqlite_template: Path) -> AsyncIterator[Database]:
    target = tmp_path / "db" / "sophia.db"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_sqlite_template, target)
    database = Database(f"sqlite+aiosqlite:///{target}")
    yield database
    await database.close()


async def test_the_data_mcp_server_runs_a_snowflake_query_and_holds_a_write(
    sqlite_database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = SnowflakeService(polls=0)
    with serve_app(spec_app(service)) as url:
        await _run(service, url, sqlite_database, tmp_path, monkeypatch)


async def _run(
    service: SnowflakeService,
    url: str,
    sqlite_database: Database,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SF_PAT", "snowflake-pat-5ecret-fake")
    monkeypatch.setenv("AT", "patAbCdEf12345.5ecret-fake")
    settings = Settings(
        home=tmp_path,
        connectors={
            "snowflake": ConnectorSettings(
                base_url=url,
                credentials={"token": "env:SF_PAT"},
                requests_per_second=1000,
            ),
            "airtable": ConnectorSettings(credentials={"token": "env:AT"}, requests_per_second=1000),
            "looker": ConnectorSettings(
                credentials={"client_id": "env:AT", "client_secret": "env:AT"}, requests_per_second=1000
            ),
        },
    )
    runtime: McpRuntime = await open_runtime(settings, sqlite_database, embedder="hashing")
    try:
        async with Client(build_server("data", runtime)) as client:
            tools = {tool.name: tool for tool in (await client.list_tools()).tools}
            assert {
                "snowflake.query",
                "snowflake.execute",
                "airtable.records.list",
                "looker.queries.run",
            } <= set(tools)
            assert all(name.split(".")[0] in ("snowflake", "airtable", "looker", "bi") for name in tools)
            execute = tools["snowflake.execute"].annotations
            assert execute is not None and execute.read_only_hint is False
            queried = await client.call_tool("snowflake.query", {"sql": "SELECT * FROM accounts"})
            refused = await client.call_tool("snowflake.query", {"sql": "DROP TABLE accounts"})
            held = await client.call_tool("snowflake.execute", {"statement": "DELETE FROM accounts"})
    finally:
        await runtime.aclose()
    assert not queried.is_error
    body: Any = queried.structured_content
    body = body.get("result", body) if isinstance(body, dict) else body
    assert body["row_count"] == 3 and body["rows"][2][2] == "Initech"
    assert refused.is_error
    assert [s["statement"] for s in service.statements] == ["SELECT * FROM accounts"], (
        "the write was not sent"
    )
    held_text: Any = held.content[0]
    assert "held for approval" in held_text.text and "snowflake.execute has not run" in held_text.text
