"""`/v1/research`: a cited report for the caller (findings remembered in their own namespace), as one JSON answer,
with `"stream": true` as server-sent events (`plan`, `searched`, `read`, `claims`, … then `report`), or with
`"run": true` as a durable `research` run (`/v1/research/runs/{id}` and its `/events` stream)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from sophia.errors import SophiaError
from sophia.gateway import encode_sse
from sophia.research import ResearchService
from sophia.server._auth import CurrentPrincipal, services
from sophia.server._memory import memory_service
from sophia.server._research_runs import start_run

__all__ = ["router"]

router = APIRouter(prefix="/v1/research", tags=["research"])


class ResearchBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=3, max_length=2000)
    depth: Literal["quick", "standard", "deep"] = "standard"
    sources: list[str] | None = Field(default=None, max_length=14)
    mode: Literal["auto", "extractive", "model"] | None = None
    stream: bool = False
    run: bool = Field(default=False, description="Queue a durable research run instead of answering now.")


async def research_service(request: Request) -> ResearchService:
    found: ResearchService | None = getattr(request.app.state, "research", None)
    if found is None:
        base = services(request)
        found = ResearchService(base.settings, gateway=base.gateway, memory=await memory_service(request))
        request.app.state.research = found
    return found


@router.post("", response_model=None)
async def research(
    body: ResearchBody, request: Request, principal: CurrentPrincipal
) -> dict[str, Any] | StreamingResponse | JSONResponse:
    service = await research_service(request)
    remember = principal.role.value in ("member", "admin")
    if body.run:
        options = {"depth": body.depth, "sources": body.sources, "mode": body.mode}
        return await start_run(request, principal, body.question, options, service)
    if not body.stream:
        report = await service.research(
            body.question,
            user_id=principal.user_id,
            depth=body.depth,
            sources=body.sources,
            mode=body.mode,
            remember=remember,
        )
        return report.json()
    return StreamingResponse(
        _events(service, body, principal.user_id, remember), media_type="text/event-stream"
    )


async def _events(
    service: ResearchService, body: ResearchBody, user_id: int, remember: bool
) -> AsyncIterator[bytes]:
    queue: asyncio.Queue[bytes | None] = asyncio.Queue()

    async def sink(kind: str, data: dict[str, Any]) -> None:
        await queue.put(encode_sse(data, event=kind))

    async def work() -> None:
        try:
            report = await service.research(
                body.question,
                user_id=user_id,
                depth=body.depth,
                sources=body.sources,
                mode=body.mode,
                remember=remember,
                on_event=sink,
            )
            await queue.put(encode_sse(report.json(), event="done"))
        except SophiaError as error:
            await queue.put(
                encode_sse({"error": {"code": error.code, "message": error.message}}, event="error")
            )
        finally:
            await queue.put(None)

    task = asyncio.create_task(work())
    try:
        while (item := await queue.get()) is not None:
            yield item
    finally:
        if not task.done():
            task.cancel()
