"""Durable research runs: `POST /v1/research` with `"run": true` queues a `research` run that a real `sophia worker`
executes against the corpus service; SIGKILLed while a page hangs, the restarted worker resumes without searching
or fetching again (counted at the corpus service), and `/v1/research/runs/{id}/events` streams the progress."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from bench.research_corpus import CorpusIndex, CorpusService

from sophia.accounts import Role
from sophia.config import load_settings
from sophia.runs import research_events
from sophia.server import Services, create_app
from tests.serving import clean_env

QUESTION = "Which vm.overcommit_memory value does PostgreSQL 15 recommend on Linux, and what is the kernel's default?"
HELD = "https://www.postgresql.org/docs/15/kernel-resources.html"
pytestmark = pytest.mark.timeout(400)


@pytest.fixture
def held_corpus(corpus_index: CorpusIndex) -> Iterator[CorpusService]:
    with CorpusService(corpus_index, local_urls=True) as service:
        yield service


def _write_config(home: Path, corpus: CorpusService) -> Path:
    path = home / "sophia.toml"
    path.write_text(
        f'[research]\nsources = ["searxng"]\n[research.source.searxng]\nbase_url = "{corpus.base_url}"\n'
        f'[tools.web]\nallowed_hosts = ["127.0.0.1:{corpus.port}"]\n[server]\nrun_worker = false\n'
    )
    return path


class _Worker:
    """A real `sophia worker` process on the test's SOPHIA_HOME."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log = env, log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "sophia", "worker", "--executor-id", "w1", "--concurrency", "1"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


@pytest.fixture
async def stack(
    _isolated_sophia_home: Path, _sqlite_template: Path, held_corpus: CorpusService
) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str], Services, _Worker]]:
    home = _isolated_sophia_home
    shutil.copyfile(_sqlite_template, home / "sophia.db")
    config = _write_config(home, held_corpus)
    app = create_app(load_settings(config, overrides={"home": home}), mcp=False)
    worker = _Worker(clean_env(home, SOPHIA_CONFIG=str(config)), home / "worker.log")
    transport = httpx.ASGITransport(app=app)
    try:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://test", timeout=60) as client,
        ):
            services: Services = app.state.services
            user = await services.accounts.create_user("ada", Role.MEMBER)
            _, key = await services.accounts.create_api_key(user.id, "research")
            yield client, {"Authorization": f"Bearer {key}"}, services, worker
    finally:
        worker.stop()


async def _until(condition: object, timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            tail = log.read_text()[-3000:] if log.exists() else ""
            raise AssertionError(f"{what} did not happen within {timeout} s; worker log: {tail}")
        await asyncio.sleep(0.1)


async def test_a_killed_research_worker_resumes_without_searching_or_fetching_again(
    stack: tuple[httpx.AsyncClient, dict[str, str], Services, _Worker], held_corpus: CorpusService
) -> None:
    client, auth, services, worker = stack
    body = {"question": QUESTION, "depth": "quick", "mode": "extractive", "run": True}
    refused = await client.post("/v1/research", json={**body, "sources": ["nope"]}, headers=auth)
    assert refused.status_code == 400  # an unknown source is refused before anything is queued
    created = await client.post("/v1/research", json=body, headers=auth)
    assert created.status_code == 202, created.text
    run_id = created.json()["id"]
    assert created.json()["status"] == "queued" and created.json()["report"] is None

    release = held_corpus.hold(HELD)
    worker.start()

    async def others_read() -> bool:
        if held_corpus.page_requests[HELD] < 1:
            return False
        reads = [e for e in await research_events(services.database, run_id) if e.kind == "read"]
        return len(reads) == len(held_corpus.page_requests) - 1  # every page but the held one is checkpointed

    await _until(others_read, 240, "the worker reading every page but the held one", worker.log)
    worker.kill()
    searches, requests = held_corpus.searches, dict(held_corpus.page_requests)
    release.set()

    worker.start()

    async def finished() -> bool:
        shown = (await client.get(f"/v1/research/runs/{run_id}", headers=auth)).json()
        return bool(shown["status"] in ("succeeded", "failed", "cancelled"))

    await _until(finished, 240, "the resumed run finishing", worker.log)
    shown = (await client.get(f"/v1/research/runs/{run_id}", headers=auth)).json()
    assert shown["status"] == "succeeded", shown
    assert held_corpus.searches == searches  # the searches were replayed from their checkpoints
    assert dict(held_corpus.page_requests) == {**requests, HELD: 2}  # only the cut-off page was read again
    report = shown["report"]
    assert report["object"] == "research.report" and report["citations"]
    assert f"{held_corpus.base_url}/www.postgresql.org/docs/15/kernel-resources.html" in {
        c["url"] for c in report["citations"]
    }

    async with client.stream("GET", f"/v1/research/runs/{run_id}/events", headers=auth) as stream:
        frames = [line async for line in stream.aiter_lines() if line.startswith(("event: ", "data: "))]
    kinds = [f.split(": ", 1)[1] for f in frames if f.startswith("event: ")]
    assert kinds[0] == "plan" and kinds.count("plan") == 1  # the replay emitted no event twice
    assert "searched" in kinds and kinds.count("read") == len(requests) and kinds[-1] == "done"
    assert json.loads(frames[-1].split(": ", 1)[1])["report"]["citations"] == report["citations"]


async def test_a_research_run_is_only_shown_to_its_owner(
    stack: tuple[httpx.AsyncClient, dict[str, str], Services, _Worker],
) -> None:
    client, auth, services, _ = stack
    created = await client.post(
        "/v1/research", json={"question": QUESTION, "depth": "quick", "run": True}, headers=auth
    )
    run_id = created.json()["id"]
    other = await services.accounts.create_user("bob", Role.MEMBER)
    _, key = await services.accounts.create_api_key(other.id, "research")
    stranger = {"Authorization": f"Bearer {key}"}
    assert (await client.get(f"/v1/research/runs/{run_id}", headers=stranger)).status_code == 404
    assert (await client.get(f"/v1/research/runs/{run_id}/events", headers=stranger)).status_code == 404
    assert (await client.get(f"/v1/research/runs/{run_id}")).status_code == 401
