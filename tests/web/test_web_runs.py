"""The runs page with a real in-process worker: approve, deny and cancel from the browser's forms; owners only."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import httpx
import pytest

from sophia.accounts import Principal, Role
from sophia.runs import RunInfo, RunService
from tests.agents.conftest import Ledger
from tests.web.conftest import WebStack
from tests.web.scripted_runs import scripted_runs

_APPROVAL = re.compile(r'action="/runs/(run_[0-9a-f]+)/approvals/([^/"]+)/approve"')


@pytest.fixture
async def runs(stack: WebStack) -> AsyncIterator[tuple[RunService, Ledger]]:
    system_url = f"sqlite:///{stack.services.settings.home / 'dbos.sqlite'}"
    async with scripted_runs(stack.app, stack.services.database, system_url) as ledger:
        yield stack.app.state.run_service, ledger


async def _until(service: RunService, run_id: str, *statuses: str) -> RunInfo:
    admin = Principal(user_id=0, user_name="t", role=Role.ADMIN, key_id=None, scopes=("*",), budget_usd=None)
    for _ in range(300):
        run = await service.get(admin, run_id)
        if run.status in statuses:
            return run
        await asyncio.sleep(0.05)
    raise AssertionError(f"run {run_id} stayed {run.status}, expected one of {statuses}")


async def _start(client: httpx.AsyncClient, csrf: str, task: str) -> str:
    response = await client.post("/runs", data={"task": task, "agent": "chat", "csrf_token": csrf})
    assert response.status_code == 303, response.text
    return str(response.headers["location"]).rsplit("/", 1)[1]


async def test_approve_on_the_run_page_lets_the_run_finish_and_others_cannot(
    stack: WebStack, runs: tuple[RunService, Ledger]
) -> None:
    service, ledger = runs
    mia, mia_csrf = await stack.signed_in("mia")
    max_, max_csrf = await stack.signed_in("max")
    async with mia, max_:
        run_id = await _start(mia, mia_csrf, "write the launch note")
        await _until(service, run_id, "waiting_approval")
        page = await mia.get(f"/runs/{run_id}")
        assert "Approval needed" in page.text and "ship on friday" in page.text
        found = _APPROVAL.search(page.text)
        assert found and found.group(1) == run_id
        approval_id = found.group(2)

        assert (await max_.get(f"/runs/{run_id}")).status_code == 404
        assert run_id not in (await max_.get("/runs")).text
        stolen = await max_.post(
            f"/runs/{run_id}/approvals/{approval_id}/approve", data={"csrf_token": max_csrf}
        )
        assert stolen.status_code == 404
        forged = await mia.post(f"/runs/{run_id}/approvals/{approval_id}/approve", data={})
        assert forged.status_code == 403
        assert ledger.calls == []

        decided = await mia.post(
            f"/runs/{run_id}/approvals/{approval_id}/approve", data={"csrf_token": mia_csrf, "reason": "ok"}
        )
        assert decided.status_code == 303
        done = await _until(service, run_id, "succeeded", "failed")
        assert done.status == "succeeded" and done.output == "finished: saved launch"
        assert ledger.calls == [{"tool": "notes.write", "title": "launch", "body": "ship on friday"}]
        shown = (await mia.get(f"/runs/{run_id}")).text
        assert "succeeded" in shown and "notes.write" in shown and "finished: saved launch" in shown
        listed = (await mia.get("/runs")).text
        assert f'data-run="{run_id}"' in listed


async def test_deny_and_cancel_stop_the_tool_from_ever_running(
    stack: WebStack, runs: tuple[RunService, Ledger]
) -> None:
    service, ledger = runs
    mia, csrf = await stack.signed_in("mia")
    async with mia:
        denied = await _start(mia, csrf, "write a note, then be denied")
        await _until(service, denied, "waiting_approval")
        found = _APPROVAL.search((await mia.get(f"/runs/{denied}")).text)
        assert found
        response = await mia.post(
            f"/runs/{denied}/approvals/{found.group(2)}/deny", data={"csrf_token": csrf}
        )
        assert response.status_code == 303
        await _until(service, denied, "succeeded", "failed")

        cancelled = await _start(mia, csrf, "write a note, then be cancelled")
        await _until(service, cancelled, "waiting_approval")
        response = await mia.post(f"/runs/{cancelled}/cancel", data={"csrf_token": csrf})
        assert response.status_code == 303
        assert (await _until(service, cancelled, "cancelled")).error == "cancelled by mia"
        assert "cancelled" in (await mia.get(f"/runs/{cancelled}")).text
    assert ledger.calls == []


async def test_a_viewer_sees_the_runs_page_but_cannot_start_a_run(stack: WebStack) -> None:
    vic, csrf = await stack.signed_in("vic")
    async with vic:
        page = await vic.get("/runs")
        assert page.status_code == 200 and "Start a run" not in page.text
        refused = await vic.post("/runs", data={"task": "x", "csrf_token": csrf})
        assert refused.status_code == 403
