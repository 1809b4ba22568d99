"""What replicas share through Redis: budget spend with reservations, and circuit-breaker verdicts (real Redis)."""

from __future__ import annotations

import asyncio
import os
import random
import uuid
from collections.abc import AsyncIterator, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sophia.gateway import BreakerBoard, BudgetExceeded, BudgetGuard, Caller, Period, Scope
from sophia.gateway._breaker import BreakerState
from sophia.gateway._ledger import RequestRecord, UsageLedger
from sophia.gateway._replicas import BreakerSync
from sophia.gateway._spend import MemorySpend, RedisSpend, SpendKey
from sophia.store import Database

REDIS_URL = os.environ.get("SOPHIA_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


async def _require_redis() -> None:
    import redis.asyncio as aioredis

    client = aioredis.from_url(REDIS_URL)
    try:
        await client.ping()
    except Exception as error:  # any failure means "no Redis here"
        message = f"Redis at {REDIS_URL} is not reachable ({type(error).__name__})"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message}; CI must run the Redis tests", pytrace=False)
        pytest.skip(message)
    finally:
        await client.aclose()


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    await _require_redis()
    name = f"sophia-test:{uuid.uuid4().hex}:"
    yield name
    import redis.asyncio as aioredis

    client = aioredis.from_url(REDIS_URL)
    async for key in client.scan_iter(match=f"{name}*"):
        await client.delete(key)
    await client.aclose()


async def _spend_requests(
    guards: Sequence[BudgetGuard], caller: Caller, count: int, estimate: float, cost: float
) -> tuple[int, int]:
    """`count` requests at once, spread over the guards (replicas); returns (admitted, refused)."""
    rng = random.Random(7)

    async def one(number: int) -> bool:
        guard = guards[number % len(guards)]
        try:
            admission = await guard.admit(caller, lambda: estimate)
        except BudgetExceeded:
            return False
        await asyncio.sleep(rng.uniform(0, 0.02))  # the provider call
        guard.charge(admission, cost)
        return True

    results = await asyncio.gather(*(one(n) for n in range(count)))
    return sum(results), len(results) - sum(results)


async def test_two_replicas_never_pass_a_budget_by_more_than_one_request(
    database: Database, prefix: str
) -> None:
    replicas = [BudgetGuard(database, spend=RedisSpend(REDIS_URL, prefix)) for _ in range(2)]
    await replicas[0].set_limit(Scope.USER, "u1", Period.DAILY, 1.0)
    admitted, refused = await _spend_requests(replicas, Caller("u1"), 60, estimate=0.3, cost=0.25)
    for guard in replicas:
        await guard.aclose()
    check = BudgetGuard(database, spend=RedisSpend(REDIS_URL, prefix))
    spent = await check.spent(Scope.USER, "u1", Period.DAILY)
    await check.aclose()
    assert spent == pytest.approx(admitted * 0.25)
    assert 1.0 <= spent <= 1.0 + 0.3  # used up, and passed by at most the last admitted request
    assert refused == 60 - admitted > 0


async def test_without_shared_spend_replicas_overshoot_which_is_why_it_exists(database: Database) -> None:
    """The same load on two replicas that keep spend in memory: each admits up to the limit on its own."""
    replicas = [BudgetGuard(database, spend=MemorySpend(refresh=60)) for _ in range(2)]
    await replicas[0].set_limit(Scope.USER, "u1", Period.DAILY, 1.0)
    admitted, _ = await _spend_requests(replicas, Caller("u1"), 60, estimate=0.3, cost=0.25)
    assert admitted * 0.25 > 1.3


async def test_a_flushed_redis_is_seeded_again_from_the_ledger(database: Database, prefix: str) -> None:
    ledger = UsageLedger(database)
    record = RequestRecord("r1", "chat", "m", "k1", "u1", False, cost_usd=0.8)
    ledger.record(record)
    await ledger.flush()
    guard = BudgetGuard(database, spend=RedisSpend(REDIS_URL, prefix))
    await guard.set_limit(Scope.USER, "u1", Period.DAILY, 1.0)
    assert await guard.spent(Scope.USER, "u1", Period.DAILY) == pytest.approx(0.8)
    guard.charge(await guard.admit(Caller("u1"), lambda: 0.1), 0.25)
    await guard.aclose()
    another = BudgetGuard(database, spend=RedisSpend(REDIS_URL, prefix))
    with pytest.raises(BudgetExceeded, match="daily budget of \\$1.00 for user u1"):
        await another.check(Caller("u1"))
    await another.aclose()


async def _seed_zero(_: SpendKey) -> float:
    return 0.0


@settings(max_examples=60, deadline=None)
@given(
    limit=st.floats(0.01, 10),
    requests=st.lists(st.tuples(st.floats(0, 2), st.floats(0, 1)), min_size=1, max_size=40),
    in_flight=st.integers(1, 8),
)
async def test_spend_never_passes_a_limit_by_more_than_one_estimate(
    limit: float, requests: list[tuple[float, float]], in_flight: int
) -> None:
    """Whatever the order of admissions and settlements, with costs within their estimates."""
    spend = MemorySpend(refresh=1e9)
    key = SpendKey("user:u1:daily:x", limit, 3600)
    open_requests: list[tuple[str, float]] = []
    total, biggest = 0.0, 0.0
    for number, (estimate, share) in enumerate(requests):
        if len(open_requests) >= in_flight:
            request_id, cost = open_requests.pop(0)
            spend.settle(request_id, [key], cost)
            total += cost
        if await spend.admit(str(number), [key], estimate, _seed_zero) == -1:
            open_requests.append((str(number), estimate * share))
            biggest = max(biggest, estimate)
    for request_id, cost in open_requests:
        spend.settle(request_id, [key], cost)
        total += cost
    assert total <= limit + biggest + 1e-9
    assert await spend.spent(key, _seed_zero) == pytest.approx(total)


async def test_a_breaker_opened_on_one_replica_is_open_on_the_others(prefix: str) -> None:
    first, second = (
        BreakerBoard(failure_threshold=2, cooldown=30),
        BreakerBoard(failure_threshold=2, cooldown=30),
    )
    sync_first, sync_second = BreakerSync(REDIS_URL, first, prefix), BreakerSync(REDIS_URL, second, prefix)
    await sync_first.start()
    await sync_second.start()
    try:
        first.get("fast").record_failure()
        first.get("fast").record_failure()  # opens on the first replica's own evidence
        await _until(lambda: second.get("fast").state is BreakerState.OPEN)
        assert not second.get("fast").allow()
        assert second.get("fast").seconds_until_probe() > 25
        assert second.get("other").allow()  # only that deployment

        late = BreakerBoard()
        sync_late = BreakerSync(REDIS_URL, late, prefix)
        await sync_late.start()  # a replica started now reads the breakers held open
        assert late.get("fast").state is BreakerState.OPEN

        first.get("fast").apply(BreakerState.OPEN, 1e-9)  # cool-down over on the first: its probe succeeds
        assert first.get("fast").allow()
        first.get("fast").record_success()
        await _until(lambda: second.get("fast").state is BreakerState.CLOSED)
        await _until(lambda: late.get("fast").state is BreakerState.CLOSED)
        assert sync_second.applied == 2
        await sync_late.aclose()
    finally:
        await sync_first.aclose()
        await sync_second.aclose()


async def test_a_malformed_breaker_message_is_ignored(prefix: str) -> None:
    import redis.asyncio as aioredis

    board = BreakerBoard(failure_threshold=1)
    sync = BreakerSync(REDIS_URL, board, prefix)
    await sync.start()
    client = aioredis.from_url(REDIS_URL)
    try:
        await client.publish(f"{prefix}breakers", b"not json")
        await client.publish(f"{prefix}breakers", b'{"from": "x", "deployment": "d", "state": "melted"}')
        await client.publish(
            f"{prefix}breakers", b'{"from": "x", "deployment": "d", "state": "open", "cooldown": 5}'
        )
        await _until(lambda: board.get("d").state is BreakerState.OPEN)
        assert sync.applied == 1
    finally:
        await client.aclose()
        await sync.aclose()


async def _until(condition: object, timeout: float = 10.0) -> None:
    assert callable(condition)
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("the other replica never heard of it")
        await asyncio.sleep(0.01)


async def test_one_replica_at_a_time_holds_the_cluster_gauges_lease(prefix: str) -> None:
    """`/metrics` reports cluster-wide gauges (runs per status) from the lease holder only, so sums count once."""
    from sophia.store import MemoryCounters, RedisCounters

    first, second = RedisCounters(REDIS_URL, prefix), RedisCounters(REDIS_URL, prefix)
    try:
        assert await first.lease("metrics:cluster-gauges", "a", 0.3)
        assert not await second.lease("metrics:cluster-gauges", "b", 0.3)
        assert await first.lease("metrics:cluster-gauges", "a", 0.3)  # renewed by its holder
        await asyncio.sleep(0.5)  # the holder died: the lease lapses and another replica takes it
        assert await second.lease("metrics:cluster-gauges", "b", 0.3)
        assert not await first.lease("metrics:cluster-gauges", "a", 0.3)
    finally:
        await first.aclose()
        await second.aclose()
    assert await MemoryCounters().lease("metrics:cluster-gauges", "a", 1)  # one process holds it always
