"""`sophia serve` hosts a run worker: a run created over HTTP finishes with no other process, and it can be off."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from sophia.accounts import Role
from sophia.config import Settings
from sophia.gateway.providers import ScriptedProvider
from sophia.runs import TERMINAL_STATUSES
from sophia.server import Services, create_app


def _answer(body: dict[str, Any]) -> str:
    return "the task is done"


async def _create_run(app: Any, client: httpx.AsyncClient) -> tuple[dict[str, str], str]:
    services: Services = app.state.services
    services.gateway.providers["local"] = ScriptedProvider(_answer, name="local")
    user = await services.accounts.create_user("ada", Role.MEMBER)
    _, key = await services.accounts.create_api_key(user.id, "runs")
    headers = {"Authorization": f"Bearer {key}"}
    created = await client.post("/v1/runs", json={"task": "say that the task is done"}, headers=headers)
    assert created.status_code == 201, created.text
    return headers, created.json()["id"]


async def _status_after(client: httpx.AsyncClient, headers: dict[str, str], run_id: str, polls: int) -> str:
    status = ""
    for _ in range(polls):
        status = (await client.get(f"/v1/runs/{run_id}", headers=headers)).json()["status"]
        if status in TERMINAL_STATUSES:
            break
        await asyncio.sleep(0.1)
    return status


@asynccontextmanager
async def _serving(
    home: Path, template: Path, *, run_worker: bool
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The app on a copy of the migrated template database, started, with a client on it."""
    shutil.copyfile(template, home / "sophia.db")
    app = create_app(Settings(home=home, server={"run_worker": run_worker}), mcp=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client,
    ):
        yield app, client


async def test_a_run_created_over_http_finishes_inside_the_server_alone(
    _isolated_sophia_home: Path, _sqlite_template: Path
) -> None:
    async with _serving(_isolated_sophia_home, _sqlite_template, run_worker=True) as (app, client):
        headers, run_id = await _create_run(app, client)
        status = await _status_after(client, headers, run_id, polls=300)
        detail = (await client.get(f"/v1/runs/{run_id}", headers=headers)).json()
    assert status == "succeeded", detail
    assert "the task is done" in str(detail.get("output"))
    assert app.state.run_service is None, "the hosted worker's service is closed at shutdown"


async def test_with_the_worker_turned_off_a_run_stays_queued(
    _isolated_sophia_home: Path, _sqlite_template: Path
) -> None:
    async with _serving(_isolated_sophia_home, _sqlite_template, run_worker=False) as (app, client):
        headers, run_id = await _create_run(app, client)
        status = await _status_after(client, headers, run_id, polls=10)
    assert status == "queued"
