"""Qdrant through qdrant-client's local mode (no Qdrant server is installable from PyPI, npm or Debian here),
and its server-error paths against a stand-in answering as Qdrant's REST API documents."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from sophia.accounts import Role
from sophia.config import ConnectorSettings
from sophia.connectors import (
    ConnectorAuthError,
    ConnectorConflict,
    ConnectorNotFound,
    Connectors,
    ConnectorUnavailable,
    build_connector,
)
from sophia.secrets import SecretResolver
from sophia.store import Database
from sophia.tools import ToolContext, ToolInvoker, ToolRegistry
from tests.serving import serve_app


def _local(home: Path) -> Any:
    settings = ConnectorSettings(kind="qdrant", options={"location": ":memory:"})
    return build_connector("qdrant", settings, SecretResolver(home, environ={}))


async def test_collections_points_and_search_in_local_mode(home: Path) -> None:
    q = _local(home)
    assert await q.list_collections() == []
    assert (await q.create_collection("docs", 3))["created"] is True
    with pytest.raises(ConnectorConflict):
        await q.create_collection("docs", 3)
    points = [
        {"id": 1, "vector": [1, 0, 0], "payload": {"t": "a"}},
        {"id": 2, "vector": [0, 1, 0], "payload": {"t": "b"}},
    ]
    assert (await q.upsert("docs", points))["upserted"] == 2
    found = await q.search("docs", [0.9, 0.1, 0], limit=1)
    assert found[0]["id"] == 1 and found[0]["payload"] == {"t": "a"}
    assert (await q.delete_points("docs", [1]))["deleted"] == 1
    assert [p["id"] for p in await q.search("docs", [1, 0, 0])] == [2]
    assert (await q.check()).detail["collections"] == ["docs"]
    assert (await q.delete_collection("docs"))["deleted"] is True
    with pytest.raises(ConnectorNotFound):
        await q.delete_collection("docs")
    with pytest.raises(ConnectorNotFound):
        await q.search("gone", [1, 0, 0])
    await q.aclose()


async def test_dry_runs_change_nothing_and_writes_wait_for_approval(home: Path, database: Database) -> None:
    q = _local(home)
    await q.create_collection("keep", 2)
    registry = ToolRegistry()
    Connectors({"qdrant": q}).register_tools(registry)
    assert registry.get("qdrant.collections.delete").group == "infra"
    invoker = ToolInvoker(registry, database)
    context = ToolContext(user_id=1, user_name="ada", role=Role.MEMBER, run_id="r")
    for tool, args in {
        "qdrant.collections.delete": {"name": "keep"},
        "qdrant.points.upsert": {"collection": "keep", "points": [{"id": 1, "vector": [1, 0]}]},
        "qdrant.collections.create": {"name": "new", "size": 2},
    }.items():
        result = await invoker.invoke(tool, {**args, "dry_run": True}, context)
        assert result.output["sent"] is False, tool
    assert await q.list_collections() == ["keep"]
    assert await q.search("keep", [1, 0]) == []
    await q.aclose()


@pytest.mark.filterwarnings(
    "ignore:Api key is used with an insecure connection"
)  # the stand-in is plain HTTP
async def test_server_errors_are_typed(home: Path) -> None:
    app = FastAPI()
    state = {"status": 401}

    @app.get("/collections")
    async def collections() -> Any:
        status = state["status"]
        body = {"status": {"error": "Must provide an API key or an Authorization bearer token"}, "time": 0.0}
        if status == 503:
            body = {"status": {"error": "Service Unavailable"}, "time": 0.0}
        return JSONResponse(body, status_code=status)

    with serve_app(app) as url:
        settings = ConnectorSettings(
            kind="qdrant", base_url=url, credentials={"api_key": "env:QK"}, timeout_seconds=5
        )
        q = build_connector("qdrant", settings, SecretResolver(home, environ={"QK": "wrong-key"}))
        with pytest.raises(ConnectorAuthError):
            await q.list_collections()
        state["status"] = 503
        with pytest.raises(ConnectorUnavailable):
            await q.list_collections()
        await q.aclose()
