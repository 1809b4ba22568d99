"""The dashboard's Connectors page: configured services, their check, rate-limit state, actions and audited calls."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from sophia.accounts import AccountService, Role
from sophia.config import Settings
from sophia.gateway import build_gateway
from sophia.gateway.providers import ScriptedProvider
from sophia.memory import HashingEmbedder, MemoryService
from sophia.server import Services, create_app
from sophia.store import Database
from tests.serving import serve_app
from tests.web.conftest import FAST_HASHER, PASSWORD, WebStack, csrf_of, echo

TOKEN = "dash-token-5ecret"


def _service() -> FastAPI:
    app = FastAPI()

    @app.get("/me")
    async def me(request: Request) -> JSONResponse:
        ok = request.headers.get("authorization") == f"Bearer {TOKEN}"
        headers = {"x-ratelimit-limit": "5000", "x-ratelimit-remaining": "4999", "x-ratelimit-reset": "60"}
        if not ok:
            return JSONResponse({"message": "Bad credentials"}, status_code=401)
        return JSONResponse({"login": "ada"}, headers=headers)

    return app


@pytest.fixture(scope="module")
def service_url() -> Iterator[str]:
    with serve_app(_service()) as url:
        yield url


@pytest.fixture
async def stack(
    _isolated_sophia_home: Path, _sqlite_template: Path, service_url: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[WebStack]:
    monkeypatch.setenv("NOTES_TOKEN", TOKEN)
    home = _isolated_sophia_home
    shutil.copyfile(_sqlite_template, home / "sophia.db")
    settings = Settings(
        home=home,
        server={"upgrade_on_start": False, "run_worker": False},
        connectors={"notes": {"base_url": service_url, "credentials": {"token": "env:NOTES_TOKEN"}}},
    )
    database = Database(f"sqlite+aiosqlite:///{home / 'sophia.db'}")
    gateway = await build_gateway(settings, database)
    provider = ScriptedProvider(echo, name="local")
    gateway.providers["local"] = provider
    accounts = AccountService(database, password_hasher=FAST_HASHER)
    services = Services(settings=settings, database=database, accounts=accounts, gateway=gateway)
    app = create_app(settings, services, mcp=False)
    memory = await MemoryService.open(database, HashingEmbedder())
    stack = WebStack(app, services, provider, memory)
    for name, role in (("ada", Role.ADMIN), ("mia", Role.MEMBER)):
        stack.users[name] = (await accounts.create_user(name, role, None, PASSWORD)).id
    try:
        async with app.router.lifespan_context(app):
            yield stack
    finally:
        await memory.close()
        await services.aclose()


async def test_an_admin_sees_the_connector_checks_it_and_sees_the_result(stack: WebStack) -> None:
    client, csrf = await stack.signed_in("ada")
    async with client:
        page = await client.get("/connectors")
        assert page.status_code == 200
        assert "Notes" in page.text and "never checked" in page.text
        assert "notes.notes.create" in page.text and "Check now" in page.text
        checked = await client.post("/connectors/notes/check", data={"csrf_token": csrf})
        assert checked.status_code == 303
        page = await client.get("/connectors")
    assert "chip ok" in page.text and "4999 of 5000 left" in page.text
    assert TOKEN not in page.text


async def test_a_member_sees_the_page_without_the_check_button_and_cannot_post_a_check(
    stack: WebStack,
) -> None:
    client, csrf = await stack.signed_in("mia")
    async with client:
        page = await client.get("/connectors")
        assert page.status_code == 200 and "Check now" not in page.text
        refused = await client.post("/connectors/notes/check", data={"csrf_token": csrf})
    assert refused.status_code == 403


async def test_a_dry_run_call_shows_in_recent_actions(stack: WebStack) -> None:
    from sophia.tools import ToolContext

    kit = stack.services.toolkit()
    context = ToolContext(user_id=stack.users["ada"], user_name="ada", role=Role.ADMIN)
    await kit.invoker.invoke("notes.notes.create", {"text": "draft", "dry_run": True}, context)
    client, _ = await stack.signed_in("ada")
    async with client:
        page = await client.get("/connectors")
    assert "notes.notes.create" in page.text and "dry_run" in page.text
    assert csrf_of(page.text)
