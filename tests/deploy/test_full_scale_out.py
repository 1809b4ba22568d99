"""The whole app scaled out: two `sophia serve` replicas (no run worker inside) and two `sophia worker`s, each
with a SOPHIA_HOME of its own, on one PostgreSQL database and one Redis, behind the round-robin balancer, in front
of a scripted upstream. Sessions, runs, approvals, memory and `/metrics` agree across the processes."""

from __future__ import annotations

import asyncio
import re
import secrets
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import pytest
from dbos import DBOS

from sophia.config import TASKS
from tests.conftest import _postgres_database, _postgres_url_for, _require_postgres
from tests.deploy.cluster import RoundRobin
from tests.deploy.scripted_upstream import Script, running_script
from tests.serving import Server, clean_env, create_key, running_sophia, sophia, sophia_process

pytestmark = pytest.mark.timeout(
    900
)  # a database, four processes and several `sophia` commands start under load
REDIS_URL = "redis://127.0.0.1:6379/15"
PASSWORD = "a long enough sign-in password 7"
CHAINS = "\n".join(f'{task} = ["scripted"]' for task in TASKS)
CONFIG = f"""
[server]
run_worker = false

[web]
redis_url = "{{redis}}"
redis_prefix = "{{prefix}}"

[runs]
heartbeat_seconds = 1
stale_seconds = 8
seal_key = "env:RUNS_SEAL_KEY"

[[providers]]
name = "scripted"
kind = "openai-compatible"
base_url = "{{upstream}}"
api_key = "env:UPSTREAM_KEY"
max_retries = 0

[[models]]
name = "scripted"
provider = "scripted"
model = "scripted"
tools = true

[routing.chains]
{CHAINS}
"""
T = TypeVar("T")


def poll(check: Callable[[], T | None], seconds: float, what: str) -> T:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"{what} did not happen within {seconds:g} s")


def _dsn(database_url: str) -> str:
    return "postgresql://" + database_url.split("://", 1)[1]


def _query(database_url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    async def fetch() -> list[asyncpg.Record]:
        connection = await asyncpg.connect(_dsn(database_url))
        try:
            return list(await connection.fetch(sql, *args))
        finally:
            await connection.close()

    return asyncio.run(fetch())


@dataclass
class App:
    replicas: list[Server]
    workers: dict[str, subprocess.Popen[bytes]]
    balancer: RoundRobin
    url: str
    script: Script
    key: str
    database_url: str
    home: Path

    def api(self, method: str, path: str, base: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = {"authorization": f"Bearer {self.key}"}
        return httpx.request(method, f"{base or self.url}{path}", headers=headers, timeout=60, **kwargs)

    def run(self, run_id: str, base: str | None = None) -> dict[str, Any]:
        answer = self.api("GET", f"/v1/runs/{run_id}", base)
        assert answer.status_code == 200, answer.text
        found: dict[str, Any] = answer.json()
        return found


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, postgres_available: str | None) -> Iterator[App]:
    _require_postgres(postgres_available)
    home = tmp_path_factory.mktemp("full-scale-out")
    with ExitStack() as stack:
        database_url = _postgres_url_for(stack.enter_context(_postgres_database()))
        upstream, script = stack.enter_context(running_script())
        config = home / "sophia.toml"
        prefix = f"sophia-test:{uuid.uuid4().hex}:"
        config.write_text(CONFIG.format(redis=REDIS_URL, prefix=prefix, upstream=upstream), encoding="utf-8")
        env = clean_env(
            home / "setup",
            SOPHIA_CONFIG=str(config),
            SOPHIA_STORAGE__URL=database_url,
            UPSTREAM_KEY="upstream-key",
            RUNS_SEAL_KEY=secrets.token_hex(32),
        )
        sophia(env, "db", "upgrade")
        DBOS.migrate(_dsn(database_url))  # once, before four processes would race to create DBOS's schema
        key = create_key(env, "ops")
        sophia(
            env, "users", "create", "web", "--role", "admin", "--password", stdin=f"{PASSWORD}\n{PASSWORD}\n"
        )

        def own(name: str) -> dict[str, str]:
            (home / name).mkdir()
            return {**env, "SOPHIA_HOME": str(home / name)}  # nothing shared by accident

        workers = {
            name: stack.enter_context(
                sophia_process(own(name), home / f"{name}.log", "worker", "--executor-id", name)
            )
            for name in ("w1", "w2")
        }
        replicas = [
            stack.enter_context(running_sophia(own(name), home / name)) for name in ("api-a", "api-b")
        ]

        def both_workers_beat() -> bool:
            for name, process in workers.items():
                assert process.poll() is None, (home / f"{name}.log").read_text()[-3000:]
            rows = _query(database_url, "SELECT executor_id FROM run_workers")
            return {r["executor_id"] for r in rows} >= set(workers)

        poll(both_workers_beat, 240, "both workers' first heartbeat")
        balancer = RoundRobin([r.url for r in replicas])
        url = stack.enter_context(balancer.running())
        yield App(replicas, workers, balancer, url, script, key, database_url, home)


def test_a_dashboard_sign_in_made_on_one_replica_is_good_on_the_other(app: App) -> None:
    with httpx.Client(base_url=app.url, timeout=60) as browser:
        page = browser.get("/login")
        found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert page.status_code == 200 and found, page.text[:500]
        form = {"name": "web", "password": PASSWORD, "csrf_token": found.group(1), "next": "/runs"}
        signed_in = browser.post("/login", data=form)
        assert signed_in.status_code == 303 and signed_in.headers["location"] == "/runs", signed_in.text[:500]
        cookie = browser.cookies["sophia_session"]
        assert [browser.get("/runs").status_code for _ in range(4)] == [200] * 4  # both replicas in turn
    for replica in app.replicas:
        seen = httpx.get(f"{replica.url}/runs", cookies={"sophia_session": cookie}, timeout=60)
        assert seen.status_code == 200 and "Sign in" not in seen.text
        stranger = httpx.get(f"{replica.url}/runs", timeout=60)
        assert stranger.status_code == 303 and stranger.headers["location"].startswith("/login")


def _recall(app: App, base: str, query: str) -> list[str]:
    answer = app.api("POST", "/v1/memory/recall", base, json={"query": query, "k": 10})
    assert answer.status_code == 200, answer.text
    return [hit["memory"]["content"] for hit in answer.json()["data"]]


def test_memory_written_on_one_replica_is_recalled_on_the_other_past_its_cache(app: App) -> None:
    a, b = (r.url for r in app.replicas)
    first = "The staging database moves to the Frankfurt region on Tuesday."
    assert app.api("POST", "/v1/memory", a, json={"content": first}).status_code == 201
    query = "where does the staging database move?"
    assert first in _recall(app, b, query)
    assert _recall(app, b, query).count(first) == 1  # asked again: B has the answer in its cache now
    second = "Update: the staging database moves to the Dublin region instead, on Thursday."
    assert app.api("POST", "/v1/memory", a, json={"content": second}).status_code == 201
    assert second in _recall(app, b, query)  # B's cache saw A's write


def _start(app: App, task: str) -> str:
    answer = app.api("POST", "/v1/runs", json={"task": task, "max_seconds": 300})
    assert answer.status_code in (200, 201), answer.text
    run_id: str = answer.json()["id"]
    return run_id


def _status(app: App, run_id: str, *wanted: str) -> Callable[[], dict[str, Any] | None]:
    def check() -> dict[str, Any] | None:
        run = app.run(run_id)
        assert run["status"] not in {"failed", "cancelled"} - set(wanted), run
        return run if run["status"] in wanted else None

    return check


def test_a_run_held_for_approval_is_approved_on_the_other_replica_and_its_tool_runs_once(app: App) -> None:
    run_id = _start(app, "Write the release note. [[write:note-1]]")
    poll(_status(app, run_id, "waiting_approval"), 180, "the run waiting for approval")
    b = app.replicas[1].url
    listed = app.api("GET", "/v1/approvals", b).json()["data"]
    held = [a for a in listed if a.get("run_id") == run_id]
    assert len(held) == 1 and held[0]["tool"] == "workspace.write", listed
    approved = app.api("POST", f"/v1/approvals/{held[0]['id']}/approve", b, json={})
    assert approved.status_code == 200, approved.text

    done = poll(_status(app, run_id, "succeeded"), 180, "the approved run finishing")
    assert (Path(done["workspace"]) / "note-1.txt").read_text() == "written by note-1"
    rows = _query(app.database_url, "SELECT status, execution FROM tool_approvals WHERE run_id = $1", run_id)
    assert [(r["status"], r["execution"]) for r in rows] == [("approved", "succeeded")]
    audit = app.run(run_id)["audit"]
    calls = [e for e in audit if e["target"] == "workspace.write" and e["action"] == "tool.call"]
    assert len(calls) == 1, audit
    assert app.script.hits["note-1"] >= 2  # asked for the tool, then answered after its result


def test_a_worker_killed_mid_run_has_the_run_finished_once_by_the_other(app: App) -> None:
    run_id = _start(app, "Summarise the week. [[hang:slow-1]]")
    poll(lambda: "slow-1" in app.script.holding, 180, "the run's model call reaching the upstream")
    owner = poll(lambda: app.run(run_id)["executor_id"], 30, "the run's owner showing")
    assert owner in app.workers
    app.workers[owner].send_signal(signal.SIGKILL)
    app.workers[owner].wait(timeout=30)
    app.script.release.set()

    done = poll(_status(app, run_id, "succeeded"), 240, "the other worker finishing the run")
    survivor = next(name for name in app.workers if name != owner)
    assert done["executor_id"] == survivor
    assert done["output"] and "Finished slow-1." in done["output"]
    assert app.script.hits["slow-1"] >= 2  # the killed call, then the resumed one
    rows = _query(app.database_url, "SELECT status, output FROM runs WHERE id = $1", run_id)
    assert [(r["status"], r["output"]) for r in rows] == [("succeeded", done["output"])]


def _samples(text: str, name: str) -> dict[str, float]:
    found = {}
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            labels, _, value = line.rpartition(" ")
            found[labels] = float(value)
    return found


def test_per_replica_request_counters_sum_to_the_requests_sent_and_cluster_gauges_come_once(app: App) -> None:
    def scrape() -> list[str]:
        answers = [app.api("GET", "/metrics", r.url) for r in app.replicas]
        assert all(a.status_code == 200 for a in answers), [a.text[:300] for a in answers]
        return [a.text for a in answers]

    def models_counted(texts: list[str]) -> list[float]:
        return [
            sum(v for k, v in _samples(t, "sophia_http_requests_total").items() if 'route="/v1/models"' in k)
            for t in texts
        ]

    before, served = models_counted(scrape()), dict(app.balancer.served)
    sent = 24
    assert all(app.api("GET", "/v1/models").status_code == 200 for _ in range(sent))
    texts = scrape()
    counted = [after - was for after, was in zip(models_counted(texts), before, strict=True)]
    assert sum(counted) == sent
    assert counted == [app.balancer.served[r.url] - served.get(r.url, 0) for r in app.replicas]
    reporting = [t for t in texts if _samples(t, "sophia_runs")]
    assert len(reporting) == 1  # the Redis lease: one replica reports the cluster-wide gauge
    assert _samples(reporting[0], "sophia_runs")['sophia_runs{status="succeeded"}'] >= 2
