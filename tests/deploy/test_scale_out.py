"""Two real `sophia serve` replicas on one PostgreSQL and one Redis, behind a round-robin balancer, in front of a
fault-injecting upstream: budgets, per-key rate limits and breakers hold across replicas, and a replica stopped with
SIGTERM mid-load drops no request it accepted."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass

import asyncpg
import httpx
import pytest

from tests.conftest import _postgres_database, _postgres_url_for, _require_postgres
from tests.deploy.cluster import RoundRobin
from tests.gateway.fault_server import FaultState, running_fault_server
from tests.serving import Server, clean_env, create_key, running_sophia, sophia

pytestmark = pytest.mark.timeout(
    900
)  # a database, two replicas and several `sophia` commands start under load
REDIS_URL = os.environ.get("SOPHIA_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
PER_KEY_PER_MINUTE = 45

CONFIG = """
[server]
drain_seconds = 2
graceful_shutdown_seconds = 20
run_worker = false

[web]
redis_url = "{redis}"
redis_prefix = "{prefix}"
requests_per_minute_key = {per_key}

[budgets]
refresh_seconds = 3600

[[providers]]
name = "upstream"
kind = "openai-compatible"
base_url = "{upstream}"
api_key = "env:UPSTREAM_KEY"
max_retries = 0

[[models]]
name = "paid"
provider = "upstream"
model = "slow-300"
input_price = 0.0
output_price = 2000.0

[[models]]
name = "down"
provider = "upstream"
model = "status-500"
"""
# The upstream reports 500 completion tokens for every answer: at $2,000 per million a request costs $1.00.
COST = 1.0


def _chat(model: str, max_tokens: int = 600) -> dict[str, object]:
    return {"model": model, "max_tokens": max_tokens, "messages": [{"role": "user", "content": "hi"}]}


def _post(url: str, key: str, body: dict[str, object]) -> httpx.Response:
    return httpx.post(
        f"{url}/v1/chat/completions", json=body, headers={"authorization": f"Bearer {key}"}, timeout=90
    )


def _burst(
    url: str, key: str, body: dict[str, object], count: int, workers: int = 16
) -> list[httpx.Response]:
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(lambda _: _post(url, key, body), range(count)))


async def _ledger_cost(database_url: str, user: str) -> float:
    dsn = "postgresql://" + database_url.split("://", 1)[1]
    connection = await asyncpg.connect(dsn)
    try:
        value = await connection.fetchval(
            "SELECT COALESCE(SUM(r.cost_usd), 0) FROM usage_requests r JOIN users u ON r.user_id = u.id::text "
            "WHERE u.name = $1",
            user,
        )
    finally:
        await connection.close()
    return float(value)


@dataclass
class Cluster:
    replicas: list[Server]
    balancer: RoundRobin
    url: str
    faults: FaultState
    keys: dict[str, str]
    database_url: str


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, postgres_available: str | None) -> Iterator[Cluster]:
    _require_postgres(postgres_available)
    home = tmp_path_factory.mktemp("scale-out")
    with ExitStack() as stack:
        name = stack.enter_context(_postgres_database())
        database_url = _postgres_url_for(name)
        upstream, faults = stack.enter_context(running_fault_server())
        config = home / "sophia.toml"
        prefix = f"sophia-test:{uuid.uuid4().hex}:"
        config.write_text(
            CONFIG.format(redis=REDIS_URL, prefix=prefix, per_key=PER_KEY_PER_MINUTE, upstream=upstream),
            encoding="utf-8",
        )
        env = clean_env(
            home, SOPHIA_CONFIG=str(config), SOPHIA_STORAGE__URL=database_url, UPSTREAM_KEY="upstream-key"
        )
        sophia(env, "db", "upgrade")
        keys = {user: create_key(env, user) for user in ("budget", "limited", "breaker", "restart")}
        sophia(env, "budgets", "set", "user", "budget", "--daily", "10")
        replicas = [
            stack.enter_context(running_sophia(env, home, serve_args=("--only", "gateway"))) for _ in range(2)
        ]
        balancer = RoundRobin([r.url for r in replicas])
        url = stack.enter_context(balancer.running())
        yield Cluster(replicas, balancer, url, faults, keys, database_url)


def test_replicas_agree_and_a_sigterm_drops_nothing(cluster: Cluster) -> None:
    replicas, balancer, url, faults, keys = (
        cluster.replicas,
        cluster.balancer,
        cluster.url,
        cluster.faults,
        cluster.keys,
    )

    # A budget of $10 for one user, 40 requests at once through both replicas: at most one request over.
    answers = _burst(url, keys["budget"], _chat("paid"), 40)
    for _ in range(20):  # then one at a time until refused, so the limit is surely reached
        answers.append(_post(url, keys["budget"], _chat("paid")))
        if answers[-1].status_code == 429:
            break
    refused = [a for a in answers if a.status_code != 200]
    assert refused and {a.json()["error"]["code"] for a in refused} == {"budget_exceeded"}
    time.sleep(1.5)  # both ledgers flush
    spent = asyncio.run(_ledger_cost(cluster.database_url, "budget"))
    assert spent == pytest.approx(COST * (len(answers) - len(refused)))
    assert (
        10 <= spent <= 10 + 1.2 * COST
    )  # the last admitted request's reservation (600 tokens) bounds the excess
    assert all(balancer.served[r.url] > 0 for r in replicas)  # both replicas took part

    # A per-key limit of 45 a minute holds in total, not per replica.
    answers = _burst(url, keys["limited"], _chat("paid", 10), 2 * PER_KEY_PER_MINUTE)
    assert [a.status_code for a in answers].count(200) == PER_KEY_PER_MINUTE
    assert {a.json()["error"]["code"] for a in answers if a.status_code != 200} == {"rate_limited"}

    # A breaker opened by the first replica's failures keeps the second from calling that deployment.
    for _ in range(5):
        assert _post(replicas[0].url, keys["breaker"], _chat("down")).status_code >= 500
    calls = faults.hits["status-500"]
    time.sleep(0.5)
    refused_at_second = _post(replicas[1].url, keys["breaker"], _chat("down"))
    assert refused_at_second.status_code == 503
    assert "circuit open" in refused_at_second.json()["error"]["message"]
    assert faults.hits["status-500"] == calls

    # SIGTERM to one replica in the middle of a load: every request either replica accepted is answered.
    results: list[httpx.Response] = []

    def load() -> None:
        results.extend(_burst(url, keys["restart"], _chat("paid", 10), 40, workers=4))

    loader = threading.Thread(target=load)
    loader.start()
    time.sleep(1.0)
    replicas[1].process.send_signal(signal.SIGTERM)
    loader.join(timeout=180)
    assert replicas[1].process.wait(timeout=60) in (0, -signal.SIGTERM)
    assert len(results) == 40 and [r.status_code for r in results] == [200] * 40
    assert "draining" in replicas[1].log()
