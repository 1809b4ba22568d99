"""The response cache in the gateway: exact hits per tenant, TTL, refresh/bypass, stream replay, ledger, stores."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sophia.gateway import (
    CachedAnswer,
    CacheMode,
    Caller,
    DatabaseCacheStore,
    Gateway,
    RedisCacheStore,
    ResponseCache,
    SemanticIndex,
    StreamInterrupted,
    UsageFilter,
    UsageReports,
    cache_key,
)
from sophia.gateway._tables import UsageRequestRow
from sophia.gateway.providers import ScriptedProvider, ScriptedReply
from sophia.store import Database
from tests.gateway.test_gateway_core import CHEAP, body, make_gateway, rows

REDIS_URL = os.environ.get("SOPHIA_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
ALICE = Caller(user_id="1", api_key_id="10")
BOB = Caller(user_id="2", api_key_id="20")


class Counting:
    """A model whose every answer is unique, so a cached answer is recognisable."""

    def __init__(self) -> None:
        self.served = 0

    def __call__(self, request: dict[str, Any]) -> str:
        self.served += 1
        return f"answer {self.served} to {request['messages'][-1]['content']}"


def cached_gateway(database: Database, script: Any, store: Any = None, ttl: float = 60.0) -> Gateway:
    gateway = make_gateway(database, {"p_cheap": ScriptedProvider(script, name="p_cheap")}, entries=(CHEAP,))
    gateway.cache = ResponseCache(store or DatabaseCacheStore(database), ttl=ttl)
    return gateway


def text(response: dict[str, Any]) -> str:
    return str(response["choices"][0]["message"]["content"])


async def test_a_repeated_request_is_answered_from_the_cache_and_the_ledger_records_what_it_saved(
    database: Database,
) -> None:
    model = Counting()
    gateway = cached_gateway(database, model)
    first, paid = await gateway.complete(body("hi", model="cheap"), ALICE, "r1")
    again, free = await gateway.complete(body("hi", model="cheap"), ALICE, "r2")
    assert text(again) == text(first) and model.served == 1
    assert not paid.cached and free.cached and free.cost_usd == 0.0
    await gateway.ledger.flush()
    ledger = {r.id: r for r in await rows(database, UsageRequestRow)}
    assert ledger["r2"].cache_hit and not ledger["r1"].cache_hit
    assert ledger["r2"].cost_usd == 0 and ledger["r2"].saved_usd == pytest.approx(paid.cost_usd)
    report = await UsageReports(database).report(UsageFilter.last_days(1))
    assert (report.cache.hits, report.cache.requests) == (1, 2)
    assert report.cache.saved_usd == pytest.approx(paid.cost_usd) and report.cache.hit_rate == 0.5
    assert report.to_dict()["cache"]["hits"] == 1


async def test_sampling_parameters_and_tools_are_part_of_the_key_but_the_user_field_is_not(
    database: Database,
) -> None:
    model = Counting()
    gateway = cached_gateway(database, model)
    await gateway.complete(body("hi", model="cheap", temperature=0.2), ALICE, "a")
    await gateway.complete(body("hi", model="cheap", temperature=0.7), ALICE, "b")
    tool = {"type": "function", "function": {"name": "look", "parameters": {"type": "object"}}}
    await gateway.complete(body("hi", model="cheap", temperature=0.2, tools=[tool]), ALICE, "c")
    assert model.served == 3
    _, outcome = await gateway.complete(body("hi", model="cheap", temperature=0.2, user="x"), ALICE, "d")
    assert outcome.cached and model.served == 3


async def test_no_cache_refreshes_the_entry_and_no_store_neither_reads_nor_writes(database: Database) -> None:
    model = Counting()
    gateway = cached_gateway(database, model)
    await gateway.complete(body("hi", model="cheap"), ALICE, "1")
    fresh, outcome = await gateway.complete(body("hi", model="cheap"), ALICE, "2", cache=CacheMode.REFRESH)
    assert not outcome.cached and model.served == 2
    served, outcome = await gateway.complete(body("hi", model="cheap"), ALICE, "3")
    assert outcome.cached and text(served) == text(fresh)
    _, outcome = await gateway.complete(body("new", model="cheap"), ALICE, "4", cache=CacheMode.BYPASS)
    _, outcome = await gateway.complete(body("new", model="cheap"), ALICE, "5")
    assert not outcome.cached and model.served == 4


def test_cache_control_directives_map_to_modes() -> None:
    assert CacheMode.from_header(None) is CacheMode.USE
    assert CacheMode.from_header("max-age=0, No-Cache") is CacheMode.REFRESH
    assert CacheMode.from_header("no-cache, no-store") is CacheMode.BYPASS
    assert CacheMode.from_header("private") is CacheMode.USE


async def test_an_entry_expires_after_its_ttl(database: Database) -> None:
    model = Counting()
    gateway = cached_gateway(database, model, ttl=0.2)
    await gateway.complete(body("hi", model="cheap"), ALICE, "1")
    _, outcome = await gateway.complete(body("hi", model="cheap"), ALICE, "2")
    assert outcome.cached
    await asyncio.sleep(0.3)
    _, outcome = await gateway.complete(body("hi", model="cheap"), ALICE, "3")
    assert not outcome.cached and model.served == 2


async def _drain(chunks: AsyncIterator[dict[str, Any]]) -> list[dict[str, Any]]:
    return [chunk async for chunk in chunks]


async def test_a_stream_is_replayed_chunk_for_chunk_and_a_plain_call_does_not_take_its_entry(
    database: Database,
) -> None:
    model = Counting()
    gateway = cached_gateway(database, model)
    streamed = body("tell me a long story please", model="cheap", stream=True)
    _, first = await gateway.open_stream(streamed, ALICE, "s1")
    original = await _drain(first)
    _, second = await gateway.open_stream(streamed, ALICE, "s2")
    assert await _drain(second) == original and len(original) > 3 and model.served == 1
    _, outcome = await gateway.complete(body("tell me a long story please", model="cheap"), ALICE, "p1")
    assert not outcome.cached and model.served == 2


async def test_a_broken_stream_is_not_cached(database: Database) -> None:
    replies = [ScriptedReply("one two three four five", cut_after=2), "whole answer"]
    gateway = cached_gateway(database, replies)
    request = body("hi", model="cheap", stream=True)
    _, chunks = await gateway.open_stream(request, ALICE, "1")
    with pytest.raises(StreamInterrupted):
        await _drain(chunks)
    _, chunks = await gateway.open_stream(request, ALICE, "2")
    pieces = [c["choices"][0]["delta"].get("content") or "" for c in await _drain(chunks) if c["choices"]]
    assert "".join(pieces) == "whole answer"


PRODUCED_FOR: dict[str, tuple[str, str]] = {}  # every answer ever made, across examples sharing one database


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["1", "2", "3"]), st.sampled_from(["k1", "k2"]), st.sampled_from(["a", "b"])
        ),
        min_size=1,
        max_size=12,
    )
)
def test_no_request_from_one_user_is_ever_served_another_users_answer(
    sqlite_url: str, calls: list[tuple[str, str, str]]
) -> None:
    async def run() -> None:
        from sophia.store import upgrade

        await upgrade(sqlite_url)
        async with Database(sqlite_url) as database:
            current: list[tuple[str, str]] = []

            def model(request: dict[str, Any]) -> str:
                answer = uuid.uuid4().hex
                PRODUCED_FOR[answer] = current[0]
                return answer

            gateway = cached_gateway(database, model)
            for user, key, prompt in calls:
                current[:] = [(user, key)]
                response, _ = await gateway.complete(
                    body(prompt, model="cheap"), Caller(user_id=user, api_key_id=key), uuid.uuid4().hex
                )
                assert PRODUCED_FOR[text(response)] == (user, key)
            await gateway.ledger.flush()

    asyncio.run(run())


def test_the_key_separates_tenants_and_streams() -> None:
    request = body("hi", model="cheap")
    assert cache_key(request, ALICE, stream=False).key != cache_key(request, BOB, stream=False).key
    assert cache_key(request, ALICE, stream=False).key != cache_key(request, ALICE, stream=True).key
    reordered = dict(reversed(list(request.items())))
    assert cache_key(reordered, ALICE, stream=False).key == cache_key(request, ALICE, stream=False).key


async def test_a_foreign_tenants_entry_is_a_miss_even_under_the_same_key(database: Database) -> None:
    store = DatabaseCacheStore(database)
    cache = ResponseCache(store, ttl=60)
    key = cache_key(body("hi"), ALICE, stream=False)
    await cache.remember(key, CachedAnswer("cheap", None, 0.1, 1, 1, response={"choices": []}))
    forged = type(key)(key.key, "u:2|k:20", False, key.normalised)
    assert await cache.lookup(forged) is None and await cache.lookup(key) is not None


@pytest.fixture
async def redis_stores() -> AsyncIterator[tuple[RedisCacheStore, RedisCacheStore]]:
    prefix = f"sophia-test:cache:{uuid.uuid4().hex}"
    first, second = RedisCacheStore(REDIS_URL, prefix), RedisCacheStore(REDIS_URL, prefix)
    try:
        await first.get("probe", "")
    except Exception as error:  # any failure means "no Redis here"
        await first.aclose()
        await second.aclose()
        message = f"Redis at {REDIS_URL} is not reachable ({type(error).__name__})"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message}; CI must run the Redis tests", pytrace=False)
        pytest.skip(message)
    try:
        yield first, second
    finally:
        await first.clear()
        await first.aclose()
        await second.aclose()


@pytest.mark.redis
async def test_replicas_sharing_redis_share_hits_per_tenant_and_expire_them(
    sqlite_url: str, redis_stores: tuple[RedisCacheStore, RedisCacheStore]
) -> None:
    from sophia.store import upgrade

    await upgrade(sqlite_url)
    async with Database(sqlite_url) as database:
        model = Counting()
        one = cached_gateway(database, model, redis_stores[0], ttl=0.3)
        two = cached_gateway(database, model, redis_stores[1], ttl=0.3)
        first, _ = await one.complete(body("hi", model="cheap"), ALICE, "1")
        again, outcome = await two.complete(body("hi", model="cheap"), ALICE, "2")
        assert outcome.cached and text(again) == text(first)
        _, outcome = await two.complete(body("hi", model="cheap"), BOB, "3")
        assert not outcome.cached
        await asyncio.sleep(0.4)
        _, outcome = await one.complete(body("hi", model="cheap"), ALICE, "4")
        assert not outcome.cached and model.served == 3
        await one.ledger.flush()


def _semantic_gateway(database: Database, model: Counting, threshold: float = 0.6) -> Gateway:
    from sophia.memory import HashingEmbedder

    gateway = cached_gateway(database, model)
    assert gateway.cache is not None
    gateway.cache.semantic = SemanticIndex(HashingEmbedder(dimensions=256).embed, threshold=threshold)
    return gateway


async def test_the_semantic_cache_answers_a_paraphrase_from_the_same_user_only(database: Database) -> None:
    model = Counting()
    gateway = _semantic_gateway(database, model)
    first, _ = await gateway.complete(body("what is the capital city of france", model="cheap"), ALICE, "1")
    close, outcome = await gateway.complete(
        body("what is the capital city of france?!", model="cheap"), ALICE, "2"
    )
    assert outcome.cached and text(close) == text(first) and model.served == 1
    assert gateway.cache is not None and gateway.cache.semantic_hits == 1
    _, outcome = await gateway.complete(body("what is the capital city of france?!", model="cheap"), BOB, "3")
    assert not outcome.cached  # never across users
    _, outcome = await gateway.complete(body("write a haiku about rain", model="cheap"), ALICE, "4")
    assert not outcome.cached  # not close enough
    warm = body("what is the capital city of france", model="cheap", temperature=1.5)
    _, outcome = await gateway.complete(warm, ALICE, "5")
    assert not outcome.cached  # other sampling parameters: another namespace
    assert model.served == 4


def test_the_semantic_cache_is_off_by_default() -> None:
    from sophia.config import Settings

    assert Settings().cache.semantic is False and Settings().cache.enabled is False
