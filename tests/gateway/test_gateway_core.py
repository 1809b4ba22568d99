"""The gateway in process, with scripted providers: routing, retries, breakers, fallbacks, ledger and budgets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from sophia.config import RoutingSettings
from sophia.errors import InvalidInput
from sophia.gateway import (
    BreakerBoard,
    BreakerState,
    BudgetExceeded,
    BudgetGuard,
    Caller,
    Catalog,
    CircuitBreaker,
    Gateway,
    HealthBoard,
    ModelEntry,
    ModelNotFound,
    NoModelAvailable,
    Period,
    ProviderBadRequest,
    ProviderRateLimited,
    ProviderUnavailable,
    RequestTraits,
    RetryPolicy,
    Router,
    Scope,
    StreamInterrupted,
    UsageLedger,
    classify,
)
from sophia.gateway._tables import UsageAttemptRow, UsageRequestRow
from sophia.gateway.providers import ScriptedProvider, ScriptedReply
from sophia.store import Database

CHEAP = ModelEntry("cheap", "p_cheap", "cheap-1", 0.1, 0.4, quality=0.5, tools=True)
SMART = ModelEntry(
    "smart", "p_smart", "smart-1", 3.0, 15.0, quality=0.95, tools=True, vision=True, reasoning=True
)
BACKUP = ModelEntry("backup", "p_backup", "backup-1", 1.0, 2.0, quality=0.7)


def body(text: str = "hello", model: str = "auto", **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": text}], **extra}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def no_sleep(_: float) -> None:
    return None


def make_gateway(
    database: Database,
    providers: dict[str, ScriptedProvider],
    *,
    chains: dict[str, list[str]] | None = None,
    policy: str = "balanced",
    entries: tuple[ModelEntry, ...] = (CHEAP, SMART, BACKUP),
) -> Gateway:
    catalog = Catalog(entries)
    health = HealthBoard()
    breakers = BreakerBoard(failure_threshold=3)
    routing = RoutingSettings(policy=policy, chains=chains or {})  # type: ignore[arg-type]
    return Gateway(
        catalog=catalog,
        router=Router(catalog, routing, health, breakers),
        providers=dict(providers),
        ledger=UsageLedger(database, health=health),
        budgets=BudgetGuard(database),
        health=health,
        breakers=breakers,
        retry=RetryPolicy(max_retries=1),
        sleep=no_sleep,
    )


def scripted(name: str, replies: Any = "ok") -> ScriptedProvider:
    return ScriptedProvider(replies, name=name)


async def rows(database: Database, table: Any) -> list[Any]:
    async with database.session() as session:
        return list((await session.execute(sa.select(table))).scalars().all())


# -- routing -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Fix this Python traceback in my function", "coding"),
        ("Solve the equation 3x + 4 = 19", "math"),
        ("Find sources and cite studies on sleep", "research"),
        ("Write a poem about autumn", "creative"),
        ("Explain the trade-offs between these plans", "reasoning"),
        ("hi there", "speed"),
    ],
)
def test_classifier_picks_the_task_from_the_prompt(text: str, expected: str) -> None:
    assert classify(RequestTraits.of(body(text))) == expected


def test_images_route_to_vision_and_tools_to_function_calling() -> None:
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
    with_image = {"model": "auto", "messages": [{"role": "user", "content": [image]}]}
    assert classify(RequestTraits.of(with_image)) == "vision"
    assert classify(RequestTraits.of(body(tools=[{"type": "function"}]))) == "function_calling"


def test_vision_requests_only_go_to_models_that_see() -> None:
    router = Router(Catalog((CHEAP, SMART, BACKUP)), RoutingSettings(), HealthBoard(), BreakerBoard())
    image = {"type": "image_url", "image_url": {"url": "https://example.invalid/cat.png"}}
    plan = router.plan({"model": "sophia/vision", "messages": [{"role": "user", "content": [image]}]})
    assert [e.name for e in plan.candidates] == ["smart"]


def test_simple_requests_prefer_the_cheaper_model_and_hard_ones_the_better() -> None:
    router = Router(Catalog((CHEAP, SMART, BACKUP)), RoutingSettings(), HealthBoard(), BreakerBoard())
    simple = router.plan(body("hi", model="sophia/speed"))
    hard = router.plan(body("Explain, step by step, " + "why " * 200, model="sophia/reasoning"))
    assert simple.candidates[0].name == "cheap"
    assert hard.candidates[0].name == "smart"


def test_policies_order_by_quality_or_cost() -> None:
    def first(policy: str) -> str:
        routing = RoutingSettings(policy=policy)  # type: ignore[arg-type]
        router = Router(Catalog((CHEAP, SMART, BACKUP)), routing, HealthBoard(), BreakerBoard())
        return router.plan(body("Explain why " * 100, model="sophia/reasoning")).candidates[0].name

    assert first("quality") == "smart"
    assert first("cost") == "cheap"


def test_configured_chain_keeps_its_order_unless_a_member_fails() -> None:
    health = HealthBoard()
    router = Router(
        Catalog((CHEAP, SMART, BACKUP)),
        RoutingSettings(chains={"coding": ["backup", "smart"]}),
        health,
        BreakerBoard(),
    )
    assert [e.name for e in router.plan(body(model="sophia/coding")).candidates] == ["backup", "smart"]
    for _ in range(5):
        health.failure("backup")
    assert [e.name for e in router.plan(body(model="sophia/coding")).candidates] == ["smart", "backup"]


def test_unknown_model_and_malformed_bodies_are_refused() -> None:
    router = Router(Catalog((CHEAP,)), RoutingSettings(), HealthBoard(), BreakerBoard())
    with pytest.raises(ModelNotFound, match='did you mean "cheap"'):
        router.plan(body(model="chep"))
    with pytest.raises(InvalidInput, match="messages"):
        router.plan({"model": "cheap", "messages": []})
    with pytest.raises(InvalidInput, match="model"):
        router.plan({"messages": [{"role": "user", "content": "x"}]})


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
        max_leaves=20,
    )
)
def test_router_never_crashes_on_garbage_messages(garbage: Any) -> None:
    router = Router(Catalog((CHEAP,)), RoutingSettings(), HealthBoard(), BreakerBoard())
    try:
        router.plan({"model": "auto", "messages": garbage})
    except InvalidInput:
        pass


# -- breaker and retry ---------------------------------------------------------------------------------------------


def test_breaker_opens_half_opens_and_closes() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=2, cooldown=10, clock=clock)
    breaker.record_failure()
    assert breaker.allow()
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN and not breaker.allow()
    clock.now += 10
    assert breaker.allow() and breaker.state is BreakerState.HALF_OPEN
    assert not breaker.allow()  # one probe at a time
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN and breaker.current_cooldown == 20
    clock.now += 20
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED and breaker.allow()


def test_retry_policy_honours_retry_after_and_never_retries_client_errors() -> None:
    policy = RetryPolicy(max_retries=2, max_retry_after=5)
    limited = ProviderRateLimited("slow down", provider="p", status=429, retry_after=3)
    assert policy.should_retry(limited, 0) and policy.delay(limited, 0) >= 3
    assert not policy.should_retry(limited, 2)
    too_long = ProviderRateLimited("slow down", provider="p", status=429, retry_after=60)
    assert not policy.should_retry(too_long, 0)
    assert not policy.should_retry(ProviderBadRequest("bad", provider="p", status=400), 0)


@given(st.integers(0, 10), st.floats(0, 100))
def test_backoff_delay_stays_within_bounds(attempt: int, retry_after: float) -> None:
    policy = RetryPolicy(base_delay=0.1, max_delay=4, max_retry_after=20)
    error = ProviderUnavailable("down", provider="p", status=503, retry_after=retry_after)
    assert 0 <= policy.delay(error, attempt) <= max(4, min(retry_after, 20))


# -- the gateway ---------------------------------------------------------------------------------------------------


async def test_fallback_after_retries_and_ledger_rows(database: Database) -> None:
    down = ProviderUnavailable("upstream 503", provider="p_cheap", status=503)
    gateway = make_gateway(
        database,
        {"p_cheap": scripted("p_cheap", [down, down]), "p_backup": scripted("p_backup", ["from backup"])},
        chains={"speed": ["cheap", "backup"]},
    )
    response, outcome = await gateway.complete(body(model="sophia/speed"), Caller("u1", "k1"), "req-1")
    await gateway.aclose()
    assert response["choices"][0]["message"]["content"] == "from backup"
    assert outcome.model.name == "backup" and outcome.attempts == 3
    (request,) = await rows(database, UsageRequestRow)
    assert (request.id, request.model, request.attempts, request.fallbacks, request.status) == (
        "req-1",
        "backup",
        3,
        1,
        "ok",
    )
    attempts = sorted(await rows(database, UsageAttemptRow), key=lambda a: a.number)
    assert [(a.model, a.status, a.http_status) for a in attempts] == [
        ("cheap", "error", 503),
        ("cheap", "error", 503),
        ("backup", "ok", None),
    ]


async def test_cost_comes_from_the_catalog_price(database: Database) -> None:
    reply = ScriptedReply(
        "x", usage={"prompt_tokens": 2_000_000, "completion_tokens": 1_000_000, "total_tokens": 3_000_000}
    )
    gateway = make_gateway(database, {"p_smart": scripted("p_smart", [reply])})
    _, outcome = await gateway.complete(body(model="smart"), Caller(), "req-cost")
    await gateway.aclose()
    assert outcome.cost_usd == pytest.approx(2 * 3.0 + 1 * 15.0)
    (request,) = await rows(database, UsageRequestRow)
    assert request.cost_usd == pytest.approx(21.0)


async def test_bad_request_is_not_retried_and_does_not_fall_back(database: Database) -> None:
    cheap = scripted("p_cheap", [ProviderBadRequest("bad field", provider="p_cheap", status=400)])
    backup = scripted("p_backup")
    gateway = make_gateway(
        database, {"p_cheap": cheap, "p_backup": backup}, chains={"speed": ["cheap", "backup"]}
    )
    with pytest.raises(ProviderBadRequest):
        await gateway.complete(body(model="sophia/speed"), Caller(), "req-400")
    await gateway.aclose()
    assert len(cheap.calls) == 1 and backup.calls == []
    (request,) = await rows(database, UsageRequestRow)
    assert request.status == "error" and request.error_code == "provider_bad_request"


async def test_open_breaker_skips_the_deployment_without_calling_it(database: Database) -> None:
    down = ProviderUnavailable("down", provider="p_cheap", status=503)
    cheap = scripted("p_cheap", lambda _: down)
    gateway = make_gateway(database, {"p_cheap": cheap})
    for i in range(2):
        with pytest.raises(NoModelAvailable):
            await gateway.complete(body(model="cheap"), Caller(), f"r{i}")
    assert len(cheap.calls) == 3  # 2 + 1 attempts, then the breaker (threshold 3) opened
    with pytest.raises(NoModelAvailable, match="circuit open"):
        await gateway.complete(body(model="cheap"), Caller(), "r-skip")
    await gateway.aclose()
    assert len(cheap.calls) == 3


async def test_stream_falls_back_before_the_first_token(database: Database) -> None:
    stalled = ScriptedProvider(lambda _: ScriptedReply("never", stall_at=0), name="p_cheap")
    stalled.timeouts = type(stalled.timeouts)(first_token=0.05)
    gateway = make_gateway(
        database,
        {"p_cheap": stalled, "p_backup": scripted("p_backup", ["all good here"])},
        chains={"speed": ["cheap", "backup"]},
    )
    entry, chunks = await gateway.open_stream(body(model="sophia/speed", stream=True), Caller(), "s1")
    text = "".join(
        [(c["choices"][0]["delta"].get("content") or "") async for c in chunks if c.get("choices")]
    )
    await gateway.aclose()
    assert entry.name == "backup" and text == "all good here"


async def test_stream_failure_after_first_token_raises_and_is_recorded(database: Database) -> None:
    cut = scripted("p_cheap", [ScriptedReply("one two three four five six", cut_after=2)])
    gateway = make_gateway(database, {"p_cheap": cut})
    _, chunks = await gateway.open_stream(body(model="cheap", stream=True), Caller(), "cut-1")
    received: list[dict[str, Any]] = []
    with pytest.raises(StreamInterrupted):
        async for chunk in chunks:
            received.append(chunk)
    await gateway.aclose()
    assert received
    (request,) = await rows(database, UsageRequestRow)
    assert request.status == "interrupted"


async def test_client_leaving_mid_stream_is_recorded_as_cancelled(database: Database) -> None:
    gateway = make_gateway(database, {"p_cheap": scripted("p_cheap", ["a b c d e f g h"])})
    _, chunks = await gateway.open_stream(body(model="cheap", stream=True), Caller(), "gone")
    assert isinstance(chunks, AsyncIterator)
    await anext(chunks)
    await chunks.aclose()  # type: ignore[attr-defined]
    await gateway.aclose()
    (request,) = await rows(database, UsageRequestRow)
    assert request.status == "cancelled"


async def test_budgets_refuse_before_any_provider_call(database: Database) -> None:
    reply = ScriptedReply("x", usage={"prompt_tokens": 1_000_000, "completion_tokens": 0, "total_tokens": 1})
    smart = scripted("p_smart", lambda _: reply)
    gateway = make_gateway(database, {"p_smart": smart})
    await gateway.budgets.set_limit(Scope.USER, "u1", Period.DAILY, 5.0)
    await gateway.complete(body(model="smart"), Caller("u1", "k1"), "b1")  # $3, under the limit
    await gateway.complete(body(model="smart"), Caller("u1", "k1"), "b2")  # $6 now: over
    with pytest.raises(BudgetExceeded, match="daily budget of \\$5.00 for user u1"):
        await gateway.complete(body(model="smart"), Caller("u1", "k1"), "b3")
    await gateway.complete(body(model="smart"), Caller("u2", "k2"), "b4")  # another user is not affected
    assert len(smart.calls) == 3
    await gateway.ledger.flush()
    fresh = BudgetGuard(database)  # a restart (or another replica) reads the spend back from the ledger
    assert await fresh.spent(Scope.USER, "u1", Period.DAILY) == pytest.approx(6.0)
    with pytest.raises(BudgetExceeded):
        await fresh.check(Caller("u1"))
    await gateway.aclose()


async def test_key_budget_and_global_budget(database: Database) -> None:
    reply = ScriptedReply("x", usage={"prompt_tokens": 1_000_000, "completion_tokens": 0, "total_tokens": 1})
    gateway = make_gateway(database, {"p_smart": scripted("p_smart", lambda _: reply)})
    limited = Caller("u1", "k1", key_budget_usd=1.0)
    await gateway.complete(body(model="smart"), limited, "k-1")
    with pytest.raises(BudgetExceeded, match="key k1"):
        await gateway.complete(body(model="smart"), limited, "k-2")
    await gateway.budgets.set_limit(Scope.GLOBAL, None, Period.MONTHLY, 2.0)
    await gateway.complete(body(model="smart"), Caller("u9"), "g-1")
    with pytest.raises(BudgetExceeded, match="everyone"):
        await gateway.complete(body(model="smart"), Caller("u8"), "g-2")
    with pytest.raises(InvalidInput):
        await gateway.budgets.set_limit(Scope.USER, "u1", Period.DAILY, -1)
    await gateway.aclose()


async def test_health_survives_a_restart(database: Database) -> None:
    from sophia.gateway._ledger import load_health

    gateway = make_gateway(database, {"p_cheap": scripted("p_cheap", ["fine"])})
    await gateway.complete(body(model="cheap"), Caller(), "h1")
    await gateway.aclose()
    (saved,) = await load_health(database)
    assert saved.deployment == "cheap" and saved.requests == 1 and saved.latency_ms is not None


async def test_ledger_keeps_rows_when_a_write_fails_and_writes_them_later(database: Database) -> None:
    from sophia.gateway import RequestRecord

    ledger = UsageLedger(database)
    ledger.record(RequestRecord("req-a", "chat", "m", None, None, False))
    ledger.record(RequestRecord("req-b", "chat", "m", None, None, False))
    async with database.engine.begin() as connection:  # the database loses the table for a while
        await connection.exec_driver_sql("ALTER TABLE usage_requests RENAME TO usage_requests_away")
    with pytest.raises(sa.exc.DBAPIError):
        await ledger.flush()
    assert ledger.pending == 2
    async with database.engine.begin() as connection:
        await connection.exec_driver_sql("ALTER TABLE usage_requests_away RENAME TO usage_requests")
    assert await ledger.flush() == 2
    assert ledger.pending == 0
    async with database.session() as session:
        ids = set((await session.scalars(sa.select(UsageRequestRow.id))).all())
    assert ids == {"req-a", "req-b"}


async def test_an_outage_during_the_row_by_row_retry_requeues_only_the_unwritten_rows(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sophia.gateway import RequestRecord

    ledger = UsageLedger(database)
    ledger.record(RequestRecord("first", "chat", "m", None, None, False))
    await ledger.flush()
    for name in ("first", "second", "third"):  # "first" is taken: the batch goes row by row
        ledger.record(RequestRecord(name, "chat", "m", None, None, False))
    real_write, calls = ledger._write, []

    async def write_then_lose_the_database(batch: list[RequestRecord]) -> None:
        calls.append([r.id for r in batch])
        if len(calls) == 4:  # whole batch, "first", "first~…", then "second": the database goes away
            raise sa.exc.OperationalError("INSERT", {}, Exception("database is gone"))
        await real_write(batch)

    monkeypatch.setattr(ledger, "_write", write_then_lose_the_database)
    with pytest.raises(sa.exc.OperationalError):
        await ledger.flush()
    assert ledger.pending == 2  # "second" and "third"; the renamed "first" is stored and not queued again
    monkeypatch.setattr(ledger, "_write", real_write)
    assert await ledger.flush() == 2
    async with database.session() as session:
        ids = sorted((await session.scalars(sa.select(UsageRequestRow.id))).all())
    assert (
        len(ids) == 4
        and ids[:1] == ["first"]
        and ids[1].startswith("first~")
        and ids[2:] == ["second", "third"]
    )


async def test_a_long_outage_drops_the_oldest_rows_instead_of_growing_without_bound(
    database: Database,
) -> None:
    from sophia.gateway import RequestRecord

    ledger = UsageLedger(database, batch_size=5, max_pending=20)
    async with database.engine.begin() as connection:
        await connection.exec_driver_sql("ALTER TABLE usage_requests RENAME TO usage_requests_away")
    for n in range(50):
        ledger.record(RequestRecord(f"req-{n}", "chat", "m", None, None, False))
    assert ledger.pending <= 20 and ledger.dropped == 50 - ledger.pending
    async with database.engine.begin() as connection:
        await connection.exec_driver_sql("ALTER TABLE usage_requests_away RENAME TO usage_requests")
    assert await ledger.flush() == 50 - ledger.dropped
    async with database.session() as session:
        ids = set((await session.scalars(sa.select(UsageRequestRow.id))).all())
    assert ids == {f"req-{n}" for n in range(ledger.dropped, 50)}  # the newest rows survive


async def test_a_request_id_seen_twice_is_stored_under_a_new_id_and_stops_nothing(database: Database) -> None:
    """Callers choose request ids (X-Request-ID): a repeat must neither block the ledger nor lose the spend."""
    from sophia.gateway import RequestRecord

    ledger = UsageLedger(database)
    ledger.record(RequestRecord("dup", "chat", "m", None, None, False, cost_usd=0.5))
    await ledger.flush()
    ledger.record(
        RequestRecord("dup", "chat", "m", None, None, False, cost_usd=0.25)
    )  # taken by the row above
    ledger.record(
        RequestRecord("dup", "chat", "m", None, None, False, cost_usd=0.125)
    )  # and twice in a batch
    ledger.record(RequestRecord("fresh", "chat", "m", None, None, False, cost_usd=1.0))
    assert await ledger.flush() == 3
    assert ledger.pending == 0
    async with database.session() as session:
        rows = (await session.execute(sa.select(UsageRequestRow.id, UsageRequestRow.cost_usd))).all()
    by_id = dict(rows)
    assert by_id["dup"] == 0.5 and by_id["fresh"] == 1.0
    renamed = sorted(cost for key, cost in by_id.items() if key.startswith("dup~"))
    assert renamed == [0.125, 0.25]


async def test_a_request_is_found_while_the_ledger_is_writing_its_batch(database: Database) -> None:
    """Feedback (and the judge) look a request up by id; a flush in flight holds it neither queued nor stored."""
    import asyncio

    from sophia.gateway import RequestRecord

    ledger = UsageLedger(database)
    ledger.record(
        RequestRecord("r-inflight", "chat", "auto", None, "u1", False, task="coding", model="cheap")
    )
    flushing = asyncio.create_task(ledger.flush())
    await asyncio.sleep(0)  # the flush has taken the batch and awaits the database
    assert not flushing.done()
    assert await ledger.find("r-inflight") == ("coding", "cheap", "u1", None)
    assert await flushing == 1
    assert await ledger.find("r-inflight") == ("coding", "cheap", "u1", None)
