"""A real `sophia serve` in front of the fault-injecting upstream, with an admin and three members holding keys."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from sophia.accounts import AccountService, Role
from sophia.store import Database, upgrade
from tests.gateway.fault_server import FaultState, running_fault_server
from tests.serving import Server, clean_env, running_sophia, sophia

# Prices per 1M tokens; the fault upstream reports 1,000 input and 500 output tokens: $0.002 a request.
CONFIG = """
[[providers]]
name = "faulty"
kind = "openai-compatible"
base_url = "{base_url}"
api_key = "env:FAULT_KEY"
max_retries = 0

[[models]]
name = "good"
provider = "faulty"
model = "ok"
input_price = 1.0
output_price = 2.0

[[models]]
name = "tools"
provider = "faulty"
model = "tools"
input_price = 1.0
output_price = 2.0
tools = true
"""
COST_PER_REQUEST = 0.002


@dataclass
class Stack:
    server: Server
    home: Path
    faults: FaultState
    keys: dict[str, str]

    @property
    def url(self) -> str:
        return self.server.url

    def client(self, user: str) -> httpx.Client:
        headers = {"authorization": f"Bearer {self.keys[user]}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def cli(self, *args: str, check: bool = True) -> Any:
        return sophia(self.server.env, *args, check=check)

    def chat(self, caller: str, model: str = "good") -> httpx.Response:
        body = {"model": model, "messages": [{"role": "user", "content": "hello"}]}
        with self.client(caller) as client:
            return client.post("/v1/chat/completions", json=body)

    def usage(self, caller: str, **params: str) -> dict[str, Any]:
        with self.client(caller) as client:
            response = client.get("/v1/usage", params=params)
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found

    def wait_for(self, check: Callable[[], bool], what: str) -> None:
        """The ledger writes in batches off the request path: wait (bounded) until it shows `what`."""
        deadline = time.monotonic() + 10
        while not check():
            if time.monotonic() > deadline:
                raise AssertionError(f"the ledger never showed {what}")
            time.sleep(0.05)


async def _create_keys(home: Path, roles: dict[str, Role]) -> dict[str, str]:
    """Users and keys written straight to the database (each `sophia` subprocess costs seconds here)."""
    url = f"sqlite+aiosqlite:///{home / 'sophia.db'}"
    await upgrade(url)
    async with Database(url) as database:
        accounts = AccountService(database)
        keys = {}
        for name, role in roles.items():
            user = await accounts.create_user(name, role)
            keys[name] = (await accounts.create_api_key(user.id))[1]
    return keys


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    home = tmp_path_factory.mktemp("server-stack")
    with running_fault_server() as (base_url, faults):
        config = home / "sophia.toml"
        config.write_text(CONFIG.format(base_url=base_url), encoding="utf-8")
        env = clean_env(
            home,
            SOPHIA_CONFIG=str(config),
            FAULT_KEY="fault-upstream-key",
            SOPHIA_SERVER__AUTH_CACHE_SECONDS="0",
            SOPHIA_BUDGETS__REFRESH_SECONDS="0",
            SOPHIA_LOGGING__LEVEL="WARNING",
        )
        roles = {"alice": Role.ADMIN, "bob": Role.MEMBER, "carol": Role.MEMBER, "dave": Role.MEMBER}
        keys = asyncio.run(_create_keys(home, roles))
        with running_sophia(env, home) as server:
            yield Stack(server, home, faults, keys)
