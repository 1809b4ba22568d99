"""`/v1/code`: start a coding run on a repository, and follow it as server-sent events.

A local repository must lie under an allowed workspace root (`[tools] workspace_roots` or SOPHIA_HOME/workspaces),
as a run's workspace would; it is cloned, never edited in place. A URL is cloned and pushed to. Push, pull
request and deploy wait for approval as everywhere else (`POST /v1/runs/{id}/approvals/{approval}/approve`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from sophia.accounts import Principal
from sophia.agents import RunLimits
from sophia.coding import code_run_options, is_remote_url
from sophia.errors import InvalidInput
from sophia.gateway import encode_sse
from sophia.runs import TERMINAL_STATUSES, RunService
from sophia.server._auth import CurrentPrincipal, services
from sophia.server._runs import run_service
from sophia.server._schemas import Number

__all__ = ["router"]

router = APIRouter(prefix="/v1/code", tags=["code"])
_POLL_SECONDS = 0.5


class CreateCode(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task: str = Field(
        min_length=1, max_length=20_000, description="What to change, e.g. 'fix parse_duration'."
    )
    repo: str = Field(
        min_length=1,
        max_length=4096,
        pattern=r"^[^\x00]*$",
        description="A git URL (https, ssh) or a local repository under an allowed workspace root.",
    )
    branch: str | None = Field(default=None, max_length=120, description="Default: sophia/<task words>-<id>.")
    push: bool = Field(default=True, description="Push the branch and open a draft pull request.")
    base: str | None = Field(default=None, max_length=120, description="The pull request's base branch.")
    test_command: str | None = Field(
        default=None, max_length=2000, description="Instead of the detected checks."
    )
    max_steps: Annotated[int, Field(ge=5, le=500), Number] = 60
    max_cost_usd: Annotated[float, Field(ge=0, le=1000), Number] = 2.0
    max_seconds: Annotated[float, Field(ge=1, le=86_400), Number] = 3600.0


@router.post("", status_code=201)
async def create_code_run(body: CreateCode, request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    """Start a code run; returns the run (its `id`) and where its events stream."""
    service = run_service(request)
    repo = body.repo
    if not is_remote_url(repo):
        if service.workspaces is None:
            raise InvalidInput("this server gives runs no workspaces; give the repository as a URL")
        repo = str(service.workspaces.check(repo.removeprefix("file://")))
    settings = services(request).settings
    options = code_run_options(
        repo,
        settings=settings,
        branch=body.branch,
        push=body.push,
        base=body.base,
        test_command=body.test_command,
    )
    limits = RunLimits(body.max_steps, body.max_cost_usd, body.max_seconds)
    run = await service.create(principal, body.task, agent="code", limits=limits, options=options)
    return {**run.to_dict(), "events_url": f"/v1/code/{run.id}/events"}


@router.get("/{run_id}/events")
async def code_events(run_id: str, request: Request, principal: CurrentPrincipal) -> StreamingResponse:
    """Server-sent events: `step` for each step as it is recorded, `approval` for a held call, then `done`."""
    service = run_service(request)
    await service.get(principal, run_id)  # a run the caller cannot see does not exist for them
    return StreamingResponse(_events(service, principal, run_id), media_type="text/event-stream")


async def _events(service: RunService, principal: Principal, run_id: str) -> AsyncIterator[bytes]:
    shown: set[tuple[Any, ...]] = set()
    while True:
        detail = await service.detail(principal, run_id)
        for step in detail.steps:
            key: tuple[Any, ...] = ("step", step["seq"], step["name"], step["status"])
            if key not in shown:
                shown.add(key)
                yield encode_sse(step, event="step")
        for approval in detail.approvals:
            key = ("approval", approval.id, approval.status, None)
            if approval.status == "pending" and key not in shown:
                shown.add(key)
                yield encode_sse({"id": approval.id, "tool": approval.tool}, event="approval")
        if detail.run.status in TERMINAL_STATUSES:
            yield encode_sse(detail.run.to_dict(), event="done")
            return
        await asyncio.sleep(_POLL_SECONDS)
