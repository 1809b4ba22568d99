"""Forged keys carrying a real key's public prefix cannot spend that key's budget, on both counter stores.

A key's 8-character prefix is shown by `/keys`, `sophia keys list` and the audit log. The budget used to be keyed
by it and counted before the key was verified, so 42 forged requests gave 30x401, then 12x429, after which the
real key got 429 too. Now failures are charged to the client's address and a key's budget only after it verifies.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sophia.store import RedisCounters
from tests.serving import Server, clean_env, create_key, running_sophia

REDIS_URL = os.environ.get("SOPHIA_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
KEY_BUDGET = 5
FAILURE_BUDGET = 10


async def _redis_reason() -> str | None:
    store = RedisCounters(REDIS_URL, prefix="sophia-probe:")
    try:
        await store.get("probe")
    except Exception as error:  # any connection failure means the server is not there
        return f"{type(error).__name__}: {error}"
    finally:
        await store.aclose()
    return None


def _counter_settings(store: str) -> dict[str, str]:
    if store == "memory":
        return {}
    reason = asyncio.run(_redis_reason())
    if reason is not None:
        message = f"Redis at {REDIS_URL} is not reachable ({reason})"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message}; CI must run the Redis tests", pytrace=False)
        pytest.skip(message)
    return {
        "SOPHIA_WEB__REDIS_URL": REDIS_URL,
        "SOPHIA_WEB__REDIS_PREFIX": f"sophia-test-{uuid.uuid4().hex}:",
    }


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    env = clean_env(
        tmp_path,
        SOPHIA_SERVER__RUN_WORKER="false",
        SOPHIA_WEB__REQUESTS_PER_MINUTE_KEY=str(KEY_BUDGET),
        SOPHIA_WEB__REQUESTS_PER_MINUTE_USER="0",
        SOPHIA_WEB__REQUESTS_PER_MINUTE_UNAUTHENTICATED=str(FAILURE_BUDGET),
        **_counter_settings(request.param),
    )
    with running_sophia(env, tmp_path) as running:
        yield running


def _statuses(url: str, key: str, count: int) -> list[int]:
    with httpx.Client(base_url=url, headers={"authorization": f"Bearer {key}"}) as client:
        return [client.get("/v1/models").status_code for _ in range(count)]


def test_forged_keys_with_a_real_prefix_leave_the_real_keys_budget_untouched(server: Server) -> None:
    alice = create_key(server.env, "alice", "member")
    prefix = alice.split("_")[1]
    forged = f"sph_{prefix}_{'A' * 43}"

    forged_statuses = _statuses(server.url, forged, 42)
    assert forged_statuses == [401] * FAILURE_BUDGET + [429] * (42 - FAILURE_BUDGET)

    with httpx.Client(base_url=server.url) as client:
        missing = client.get("/v1/models")  # no key at all is charged to the address too
    assert missing.status_code == 429 and int(missing.headers["retry-after"]) >= 1
    assert "SOPHIA_WEB__REQUESTS_PER_MINUTE_UNAUTHENTICATED" in missing.json()["error"]["message"]

    # Same address, her real key: the whole budget is still hers, and only then is she limited.
    assert _statuses(server.url, alice, KEY_BUDGET + 1) == [200] * KEY_BUDGET + [429]
