"""Rate limits and sign-in lockout on both counter stores: in-process and Redis."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import pytest

from sophia.accounts import Budget, LoginThrottle, RateLimited, RateLimiter
from sophia.store import CounterStore, MemoryCounters, RedisCounters

REDIS_URL = os.environ.get("SOPHIA_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def counters(request: pytest.FixtureRequest) -> AsyncIterator[CounterStore]:
    if request.param == "memory":
        store: CounterStore = MemoryCounters()
    else:
        store = RedisCounters(REDIS_URL, prefix=f"sophia-test-{uuid.uuid4().hex}:")
        try:
            await store.get("probe")
        except Exception as error:  # any connection failure means the server is not there
            await store.aclose()
            pytest.skip(f"Redis at {REDIS_URL} is not reachable ({error})")
    yield store
    await store.aclose()


async def test_rate_limiter_refuses_the_request_over_the_limit_and_says_when_to_retry(
    counters: CounterStore,
) -> None:
    limiter = RateLimiter(counters)
    per_key, per_user = Budget("key", 3, "SOPHIA_WEB__REQUESTS_PER_MINUTE_KEY"), Budget("user", 3)
    for _ in range(3):
        await limiter.check(per_key, "abc")
    with pytest.raises(RateLimited) as refused:
        await limiter.check(per_key, "abc")
    assert 0 < refused.value.retry_after <= 60
    assert "SOPHIA_WEB__REQUESTS_PER_MINUTE_KEY" in refused.value.message
    await limiter.check(per_key, "other")  # another key has its own window
    await limiter.check(per_user, "abc")  # and so does a user with the same id


async def test_a_limit_of_zero_turns_limiting_off(counters: CounterStore) -> None:
    limiter = RateLimiter(counters)
    for _ in range(10):
        await limiter.check(Budget("key", 0), "abc")


async def test_lockout_is_per_user_and_address_per_address_and_success_clears_the_user(
    counters: CounterStore,
) -> None:
    throttle = LoginThrottle(counters, user_failures=2, ip_failures=3, lockout_seconds=60)
    await throttle.failed("Mia", "10.0.0.1")
    await throttle.failed("mia", "10.0.0.1")
    with pytest.raises(RateLimited):
        await throttle.check("MIA", "10.0.0.1")  # names are case-insensitive
    await throttle.check("max", "10.0.0.1")
    await throttle.failed("max", "10.0.0.1")
    with pytest.raises(RateLimited):
        await throttle.check("bob", "10.0.0.1")  # the address has failed three times
    await throttle.succeeded("mia", "10.0.0.9")
    await throttle.check("mia", "10.0.0.9")


async def test_memory_counters_expire_after_their_window() -> None:
    clock = FakeClock()
    store = MemoryCounters(clock=clock)
    assert await store.incr("k", 10) == (1, 10)
    clock.now += 11
    assert await store.get("k") == (0, 0.0)
    assert (await store.incr("k", 10))[0] == 1
