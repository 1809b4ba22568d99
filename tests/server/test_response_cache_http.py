"""The response cache through HTTP: `[cache]` in the settings, streams replayed byte for byte, `cache-control`
honoured, hit rate and savings on `GET /v1/usage`, the dashboard's usage page and `sophia usage`."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from sophia.accounts import AccountService, Role
from sophia.cli import app as cli_app
from sophia.config import Settings
from sophia.gateway import build_gateway
from sophia.gateway.providers import ScriptedProvider
from sophia.server import Services, create_app
from sophia.store import Database
from tests.web.conftest import FAST_HASHER, PASSWORD, csrf_of

CHAT = {"model": "local", "messages": [{"role": "user", "content": "tell me about caches, in a few words"}]}


class Stack:
    def __init__(self, app: object, services: Services, provider: ScriptedProvider) -> None:
        self.app, self.services, self.provider = app, services, provider

    def client(self, key: str | None = None) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, client=("127.0.0.1", 50000))  # type: ignore[arg-type]
        headers = {"authorization": f"Bearer {key}"} if key else {}
        return httpx.AsyncClient(transport=transport, base_url="http://testserver", headers=headers)


@pytest.fixture
async def stack(_isolated_sophia_home: Path, _sqlite_template: Path) -> AsyncIterator[Stack]:
    home = _isolated_sophia_home
    shutil.copyfile(_sqlite_template, home / "sophia.db")
    settings = Settings(
        home=home,
        server={"upgrade_on_start": False, "run_worker": False},
        web={"requests_per_minute_key": 0, "requests_per_minute_user": 0},
        cache={"enabled": True, "ttl": "1h"},
    )
    database = Database(f"sqlite+aiosqlite:///{home / 'sophia.db'}")
    gateway = await build_gateway(settings, database)
    assert gateway.cache is not None
    provider = ScriptedProvider(lambda body: f"fresh answer {len(provider.calls)}", name="local")
    gateway.providers["local"] = provider
    services = Services(
        settings=settings,
        database=database,
        accounts=AccountService(database, password_hasher=FAST_HASHER),
        gateway=gateway,
    )
    app = create_app(settings, services, mcp=False)
    try:
        async with app.router.lifespan_context(app):
            yield Stack(app, services, provider)
    finally:
        await services.aclose()


async def _key(stack: Stack, name: str, role: Role = Role.MEMBER) -> str:
    user = await stack.services.accounts.create_user(name, role, None, PASSWORD)
    return (await stack.services.accounts.create_api_key(user.id, "k"))[1]


async def test_a_stream_is_replayed_byte_identical_and_cache_control_is_honoured(stack: Stack) -> None:
    key = await _key(stack, "mia")
    streamed = {**CHAT, "stream": True, "stream_options": {"include_usage": True}}
    async with stack.client(key) as client:
        first = await client.post("/v1/chat/completions", json=streamed)
        second = await client.post("/v1/chat/completions", json=streamed)
        assert first.status_code == second.status_code == 200
        assert first.content.endswith(b"data: [DONE]\n\n") and first.content.count(b"data: ") > 3
        assert second.content == first.content
        assert len(stack.provider.calls) == 1
        refreshed = await client.post(
            "/v1/chat/completions", json=streamed, headers={"cache-control": "no-cache"}
        )
        assert refreshed.content != first.content and len(stack.provider.calls) == 2
        replayed = await client.post("/v1/chat/completions", json=streamed)
        assert replayed.content == refreshed.content


async def test_plain_hits_are_marked_and_not_shared_between_users(stack: Stack) -> None:
    mia, max_ = await _key(stack, "mia"), await _key(stack, "max")
    async with stack.client(mia) as client:
        paid = await client.post("/v1/chat/completions", json=CHAT)
        free = await client.post("/v1/chat/completions", json=CHAT)
        bypass = await client.post("/v1/chat/completions", json=CHAT, headers={"cache-control": "no-store"})
    assert "x-sophia-cache" not in paid.headers and free.headers["x-sophia-cache"] == "hit"
    assert free.json() == paid.json() and float(free.headers["x-sophia-cost-usd"]) == 0
    assert "x-sophia-cache" not in bypass.headers
    async with stack.client(max_) as client:
        other = await client.post("/v1/chat/completions", json=CHAT)
    assert "x-sophia-cache" not in other.headers and other.json() != paid.json()
    assert len(stack.provider.calls) == 3


async def test_hit_rate_and_savings_show_on_the_api_the_dashboard_and_the_cli(stack: Stack) -> None:
    key = await _key(stack, "ada", Role.ADMIN)
    async with stack.client(key) as client:
        for _ in range(4):
            await client.post("/v1/chat/completions", json=CHAT)
        await stack.services.gateway.ledger.flush()
        usage = (await client.get("/v1/usage")).json()
    assert (
        usage["cache"]["hits"] == 3 and usage["cache"]["requests"] == 4 and usage["cache"]["hit_rate"] == 0.75
    )
    async with stack.client() as browser:
        login = await browser.get("/login")
        form = {"name": "ada", "password": PASSWORD, "csrf_token": csrf_of(login.text), "next": "/usage"}
        assert (await browser.post("/login", data=form)).status_code == 303
        page = await browser.get("/usage")
    assert page.status_code == 200 and "Cache hit rate" in page.text and "75.0%" in page.text
    result = await asyncio.to_thread(CliRunner().invoke, cli_app, ["usage", "--days", "1"])  # its own loop
    assert result.exit_code == 0, result.output
    assert "3 of 4 chat requests answered (75.0%)" in result.output


async def test_cache_semantic_in_the_settings_gives_the_server_a_semantic_index(
    _isolated_sophia_home: Path, _sqlite_template: Path
) -> None:
    from sophia.server._services import _semantic_embedder

    shutil.copyfile(_sqlite_template, _isolated_sophia_home / "sophia.db")
    settings = Settings(home=_isolated_sophia_home, cache={"enabled": True, "semantic": True})
    embed = _semantic_embedder(settings)
    assert embed is not None and _semantic_embedder(Settings(cache={"enabled": True})) is None
    async with Database(f"sqlite+aiosqlite:///{_isolated_sophia_home / 'sophia.db'}") as database:
        gateway = await build_gateway(settings, database, start=False, embed=embed)
        try:
            assert gateway.cache is not None and gateway.cache.semantic is not None
            assert gateway.cache.semantic.threshold == 0.95
        finally:
            await gateway.aclose()
