"""Durable research runs over HTTP: `POST /v1/research` with `"run": true` queues one; `/v1/research/runs/{id}`
shows it (the report once it is done) and `/v1/research/runs/{id}/events` streams its progress as server-sent
events (`plan`, `searched`, `source_error`, `read`, `fetch_error`, `claims`, `report`, then `done` or `error`)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse

from sophia.accounts import Principal
from sophia.errors import NotFound
from sophia.gateway import encode_sse
from sophia.research import ResearchService
from sophia.runs import TERMINAL_STATUSES, RunInfo, RunService, research_events
from sophia.server._auth import CurrentPrincipal
from sophia.server._runs import run_service

__all__ = ["research_run_json", "router", "start_run"]

router = APIRouter(prefix="/v1/research/runs", tags=["research"])
_POLL_SECONDS = 0.25


async def start_run(
    request: Request, principal: Principal, question: str, options: dict[str, Any], service: ResearchService
) -> JSONResponse:
    """Queue `question` as a `research` run (`options`: depth, sources, mode); a worker executes it."""
    await service.check_sources(options.get("sources"))
    run = await run_service(request).create(principal, question, agent="research", options=options)
    return JSONResponse(research_run_json(run), status_code=202)


def research_run_json(run: RunInfo) -> dict[str, Any]:
    """The run as the research routes show it: status, links, and the report once it succeeded."""
    report = json.loads(run.output) if run.status == "succeeded" and run.output else None
    return {
        "object": "research.run",
        "id": run.id,
        "question": run.task,
        "status": run.status,
        "error": run.error,
        "created_at": run.created_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "events_url": f"/v1/research/runs/{run.id}/events",
        "report": report,
    }


async def _research_run(service: RunService, principal: Principal, run_id: str) -> RunInfo:
    run = await service.get(principal, run_id)
    if run.agent != "research":
        raise NotFound(f"run {run_id[:80]!r} is not a research run; see it at /v1/runs/{run_id[:80]}")
    return run


@router.get("/{run_id}")
async def show_research_run(run_id: str, request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    return research_run_json(await _research_run(run_service(request), principal, run_id))


@router.get("/{run_id}/events")
async def research_run_events(
    run_id: str, request: Request, principal: CurrentPrincipal
) -> StreamingResponse:
    service = run_service(request)
    await _research_run(service, principal, run_id)
    return StreamingResponse(_follow(service, principal, run_id), media_type="text/event-stream")


async def _follow(service: RunService, principal: Principal, run_id: str) -> AsyncIterator[bytes]:
    """Every event kept so far, then new ones as they are kept, until the run ends."""
    seen = 0
    while True:
        run = await service.get(principal, run_id)
        events = await research_events(service.database, run_id, after=seen)
        seen += len(events)
        for event in events:
            yield encode_sse(event.data, event=event.kind)
        if run.status in TERMINAL_STATUSES:
            break
        await asyncio.sleep(_POLL_SECONDS)
    shown = research_run_json(run)
    if run.status == "succeeded":
        yield encode_sse(shown, event="done")
    else:
        yield encode_sse(
            {"error": {"code": f"run_{run.status}", "message": run.error or run.status}}, event="error"
        )
