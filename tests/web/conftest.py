"""An app with the dashboard installed, a scripted model standing in for the local one, and signed-in clients."""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from starlette.testclient import TestClient

from sophia.accounts import AccountService, Role
from sophia.config import Settings
from sophia.gateway import build_gateway
from sophia.gateway.providers import ScriptedProvider
from sophia.memory import HashingEmbedder, MemoryService
from sophia.server import Services, create_app
from sophia.server.web import WebOptions
from sophia.store import Database

PASSWORD = "correct-horse-battery"
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)  # argon2, cheap for tests
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "no CSRF field on the page"
    return found.group(1)


@dataclass
class WebStack:
    app: FastAPI
    services: Services
    provider: ScriptedProvider
    memory: MemoryService
    users: dict[str, int] = field(default_factory=dict)

    def client(self) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, client=("127.0.0.1", 50000))
        return httpx.AsyncClient(transport=transport, base_url="http://testserver", follow_redirects=False)

    async def signed_in(self, name: str) -> tuple[httpx.AsyncClient, str]:
        """A client with a session cookie for `name`, and that session's CSRF token."""
        async with self.client() as first:
            page = await first.get("/login")
            form = {"name": name, "password": PASSWORD, "csrf_token": csrf_of(page.text), "next": "/keys"}
            response = await first.post("/login", data=form)
            assert response.status_code == 303, response.text
            keys = await first.get("/keys")
            cookies = first.cookies
        client = self.client()  # unopened, so tests can `async with` it
        client.cookies = cookies
        return client, csrf_of(keys.text)


def echo(body: dict[str, Any]) -> str:
    return "You said: " + str(body["messages"][-1]["content"])


async def build_stack(
    home: Path, template: Path, options: WebOptions, script: Callable[[dict[str, Any]], Any] = echo
) -> tuple[WebStack, Callable[[], Any]]:
    db_path = home / "sophia.db"
    shutil.copyfile(template, db_path)
    settings = Settings(home=home, server={"upgrade_on_start": False, "run_worker": False}, web=options)
    database = Database(f"sqlite+aiosqlite:///{db_path}")
    gateway = await build_gateway(settings, database)
    provider = ScriptedProvider(script, name="local")
    gateway.providers["local"] = provider
    services = Services(
        settings=settings,
        database=database,
        accounts=AccountService(database, password_hasher=FAST_HASHER),
        gateway=gateway,
    )
    app = create_app(settings, services, mcp=False)  # MCP has its own tests; its task groups need one task
    memory = await MemoryService.open(
        database, HashingEmbedder()
    )  # the bundled model is for the browser test
    app.state.memory = memory

    async def close() -> None:
        await memory.close()
        await services.aclose()

    return WebStack(app, services, provider, memory), close


@pytest.fixture
def web_options() -> WebOptions:
    return WebOptions(login_user_failures=3, login_ip_failures=50, requests_per_minute_key=5)


@pytest.fixture
async def empty_stack(
    _isolated_sophia_home: Path, _sqlite_template: Path, web_options: WebOptions
) -> AsyncIterator[WebStack]:
    stack, close = await build_stack(_isolated_sophia_home, _sqlite_template, web_options)
    try:
        async with stack.app.router.lifespan_context(stack.app):
            yield stack
    finally:
        await close()


@pytest.fixture
async def stack(empty_stack: WebStack) -> WebStack:
    """Users: ada (admin), mia and max (members), vic (viewer)."""
    accounts = empty_stack.services.accounts
    for name, role in (("ada", Role.ADMIN), ("mia", Role.MEMBER), ("max", Role.MEMBER), ("vic", Role.VIEWER)):
        empty_stack.users[name] = (await accounts.create_user(name, role, None, PASSWORD)).id
    return empty_stack


@pytest.fixture
def stack_sync(_isolated_sophia_home: Path, _sqlite_template: Path) -> Iterator[tuple[TestClient, str]]:
    """A TestClient (its own event loop runs the app's lifespan) and a member's API key."""
    shutil.copyfile(_sqlite_template, _isolated_sophia_home / "sophia.db")
    settings = Settings(home=_isolated_sophia_home, server={"upgrade_on_start": False, "run_worker": False})
    app = create_app(settings)
    with TestClient(app, base_url="http://testserver") as client:
        services: Services = app.state.services
        services.gateway.providers["local"] = ScriptedProvider(echo, name="local")
        memory = client.portal.call(MemoryService.open, services.database, HashingEmbedder())
        app.state.memory = memory
        user = client.portal.call(services.accounts.create_user, "sam", Role.MEMBER)
        _, key = client.portal.call(services.accounts.create_api_key, user.id, "ws")
        try:
            yield client, key
        finally:
            client.portal.call(memory.close)
