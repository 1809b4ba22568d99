"""Sign-in lockout: X-Forwarded-For from an untrusted client changes nothing, and a stranger cannot lock a known
user out for the lockout period."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sophia.accounts import LoginThrottle, RateLimited
from sophia.store import MemoryCounters
from tests.serving import Server, clean_env, create_key, running_sophia
from tests.web.test_web_limits import FakeClock

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home: Path = tmp_path_factory.mktemp("sign-in")
    env = clean_env(
        home,
        SOPHIA_SERVER__RUN_WORKER="false",
        SOPHIA_WEB__LOGIN_IP_FAILURES="3",
        SOPHIA_WEB__LOGIN_USER_FAILURES="10",
    )
    create_key(env, "mia")  # a first user, so /login is not the first-run setup
    with running_sophia(env, home) as running:
        yield running


def test_forwarded_for_from_an_untrusted_local_client_does_not_dodge_the_address_lockout(
    server: Server,
) -> None:
    with httpx.Client(base_url=server.url) as client:
        token = _CSRF.search(client.get("/login").text)
        assert token is not None
        statuses = []
        for attempt in range(5):
            spoofed = {"x-forwarded-for": f"203.0.113.{attempt}"}  # a new "address" every time
            form = {"name": f"guess{attempt}", "password": "wrong", "csrf_token": token.group(1)}
            statuses.append(client.post("/login", data=form, headers=spoofed).status_code)
    assert statuses == [401, 401, 401, 429, 429]


async def test_a_stranger_cannot_lock_a_known_user_out_for_the_lockout_period() -> None:
    clock = FakeClock()
    throttle = LoginThrottle(
        MemoryCounters(clock=clock), user_failures=5, ip_failures=1000, lockout_seconds=900
    )
    for _ in range(200):  # a stranger at one address hammers mia's name
        await throttle.failed("mia", "198.51.100.7")
    with pytest.raises(RateLimited):
        await throttle.check("mia", "198.51.100.7")  # the stranger's own address stays locked
    with pytest.raises(RateLimited) as waiting:
        await throttle.check("mia", "192.0.2.10")  # mia, elsewhere, waits only the short per-user backoff
    assert waiting.value.retry_after <= LoginThrottle.MAX_USER_BACKOFF_SECONDS
    clock.now += LoginThrottle.MAX_USER_BACKOFF_SECONDS + 1
    await throttle.check("mia", "192.0.2.10")
    with pytest.raises(RateLimited):
        await throttle.check("mia", "198.51.100.7")


async def test_failures_spread_over_many_addresses_slow_guessing_down() -> None:
    clock = FakeClock()
    throttle = LoginThrottle(
        MemoryCounters(clock=clock), user_failures=3, ip_failures=1000, lockout_seconds=900
    )
    for address in range(3):
        await throttle.check("mia", f"198.51.100.{address}")
        await throttle.failed("mia", f"198.51.100.{address}")
    waits = []
    for address in range(3, 8):
        with pytest.raises(RateLimited) as caught:
            await throttle.check("mia", f"198.51.100.{address}")
        waits.append(caught.value.retry_after)
        clock.now += caught.value.retry_after
        await throttle.failed("mia", f"198.51.100.{address}")
    assert waits == sorted(waits) and waits[-1] > waits[0]  # each further failure waits longer
