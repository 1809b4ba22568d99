"""Sync over HTTP and on the dashboard: `GET|POST /v1/connectors/NAME/sync` (admin) and the Connectors page's
sync table with the last error, against the Linear stand-in on 127.0.0.1."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from sophia.accounts import AccountService, Role
from sophia.config import Settings
from sophia.gateway import build_gateway
from sophia.gateway.providers import ScriptedProvider
from sophia.memory import HashingEmbedder, MemoryService
from sophia.server import Services, create_app
from sophia.store import Database
from tests.connectors.linear_standin import TOKEN, LinearStandIn
from tests.serving import serve_app
from tests.web.conftest import FAST_HASHER, PASSWORD, WebStack, echo


@pytest.fixture
def standin() -> Iterator[tuple[LinearStandIn, str]]:
    service = LinearStandIn()
    service.seed(5)
    with serve_app(service.app()) as url:
        yield service, url


@pytest.fixture
async def stack(
    _isolated_sophia_home: Path,
    _sqlite_template: Path,
    standin: tuple[LinearStandIn, str],
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[tuple[WebStack, dict[str, str]]]:
    monkeypatch.setenv("LINEAR_TOKEN", TOKEN)
    home = _isolated_sophia_home
    shutil.copyfile(_sqlite_template, home / "sophia.db")
    linear = {"base_url": standin[1], "credentials": {"token": "env:LINEAR_TOKEN"}, "sync_every": "1h"}
    settings = Settings(
        home=home, server={"upgrade_on_start": False, "run_worker": False}, connectors={"linear": linear}
    )
    database = Database(f"sqlite+aiosqlite:///{home / 'sophia.db'}")
    gateway = await build_gateway(settings, database)
    provider = ScriptedProvider(echo, name="local")
    gateway.providers["local"] = provider
    accounts = AccountService(database, password_hasher=FAST_HASHER)
    memory = await MemoryService.open(database, HashingEmbedder())
    services = Services(
        settings=settings, database=database, accounts=accounts, gateway=gateway, memory=memory
    )
    app = create_app(settings, services, mcp=False)
    stack = WebStack(app, services, provider, memory)
    keys = {}
    for name, role in (("ada", Role.ADMIN), ("mia", Role.MEMBER)):
        user = await accounts.create_user(name, role, None, PASSWORD)
        stack.users[name] = user.id
        keys[name] = (await accounts.create_api_key(user.id, "k"))[1]
    try:
        async with app.router.lifespan_context(app):
            yield stack, keys
    finally:
        await services.aclose()


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_an_admin_syncs_over_http_and_reads_the_state_a_member_is_refused(
    stack: tuple[WebStack, dict[str, str]],
) -> None:
    web, keys = stack
    async with web.client() as client:
        before = (await client.get("/v1/connectors/linear/sync", headers=_auth(keys["ada"]))).json()
        assert before["every_seconds"] == 3600 and before["streams"] == [
            {"stream": "issues", "last_run_at": None}
        ]
        ran = await client.post("/v1/connectors/linear/sync", headers=_auth(keys["ada"]), json={"full": True})
        assert ran.status_code == 200 and ran.json()["ok"] and ran.json()["totals"]["written"] == 5
        state = (await client.get("/v1/connectors/linear/sync", headers=_auth(keys["ada"]))).json()
        (stream,) = state["streams"]
        assert stream["written"] == 5 and stream["last_error"] is None and stream["cursor_age_seconds"] >= 0
        refused = await client.post("/v1/connectors/linear/sync", headers=_auth(keys["mia"]))
        assert refused.status_code == 403
        bad = await client.post(
            "/v1/connectors/linear/sync", headers=_auth(keys["ada"]), json={"streams": ["x"]}
        )
        assert bad.status_code == 400 and "has no stream 'x'" in bad.text
        missing = await client.get("/v1/connectors/nope/sync", headers=_auth(keys["ada"]))
        assert missing.status_code == 404
    hits = await web.memory.recall("billing", namespaces="connector:linear", k=10)
    assert len(hits) == 5


async def test_a_failed_stream_shows_its_error_over_http_and_on_the_connectors_page(
    stack: tuple[WebStack, dict[str, str]], standin: tuple[LinearStandIn, str]
) -> None:
    web, keys = stack
    standin[0].rate_limited = True
    async with web.client() as client:
        ran = await client.post("/v1/connectors/linear/sync", headers=_auth(keys["ada"]))
        assert ran.status_code == 200 and not ran.json()["ok"]
        assert "Rate limit exceeded" in ran.json()["streams"][0]["error"]
        state = (await client.get("/v1/connectors/linear/sync", headers=_auth(keys["ada"]))).json()
        assert state["streams"][0]["attempts"] == 1 and "Rate limit" in state["streams"][0]["last_error"]
    browser, _ = await web.signed_in("ada")
    async with browser:
        page = await browser.get("/connectors")
    assert page.status_code == 200 and "sync-state" in page.text
    assert "1 failed" in page.text and "Rate limit exceeded" in page.text and "every 60 min" in page.text
    assert TOKEN not in page.text


async def test_the_sync_routes_need_a_key(stack: tuple[WebStack, dict[str, str]]) -> None:
    web, _ = stack
    async with web.client() as client:
        assert (await client.get("/v1/connectors/linear/sync")).status_code == 401
        assert isinstance(client, httpx.AsyncClient)


async def test_the_schedule_syncs_once_per_period_across_processes_sharing_the_database(
    stack: tuple[WebStack, dict[str, str]],
) -> None:
    from sophia.connectors import Connectors, SyncSchedule

    web, _ = stack
    settings = web.services.settings.model_copy(
        update={
            "connectors": {
                "linear": web.services.settings.connectors["linear"].model_copy(update={"sync_every": 1.0})
            }
        }
    )
    first, second = Connectors.open(settings), Connectors.open(settings)
    try:
        one = SyncSchedule(settings, web.services.database, web.memory, first)
        two = SyncSchedule(settings, web.services.database, web.memory, second)
        assert one.every == {"linear": 1.0} and one.tick_seconds == 1.0
        assert await one.run_due() == [] and await two.run_due() == []  # the clock starts
        await asyncio.sleep(1.1)
        reports = await asyncio.gather(one.run_due(), two.run_due())
        assert sorted(len(r) for r in reports) == [0, 1]
        (report,) = [r for batch in reports for r in batch]
        assert report.ok and report.totals()["written"] == 5
    finally:
        await first.aclose()
        await second.aclose()
