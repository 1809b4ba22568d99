"""The research page: ask a question (a durable `research` run), follow its progress, read the cited report.

Each claim's `[n]` links to its source in the list below the report, and hovering it shows the passage it
quotes; the same `RunService` and events as `/v1/research/runs` back it.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from sophia.errors import NotFound
from sophia.runs import TERMINAL_STATUSES, research_events
from sophia.server._research import research_service
from sophia.server._runs import run_service
from sophia.server.web._guard import ANYONE, MODEL_USERS, signed_in
from sophia.server.web._pages_runs import principal_of
from sophia.server.web._render import render
from sophia.server.web._sessions import WebSession

router = APIRouter(tags=["web"], include_in_schema=False)
Anyone = signed_in(*ANYONE)
Editor = signed_in(*MODEL_USERS)
DEPTHS = ("quick", "standard", "deep")


@router.get("/research")
async def research_page(request: Request, me: WebSession = Anyone) -> Response:
    runs = await run_service(request).list(principal_of(me), limit=200)
    asked = [run for run in runs if run.agent == "research"][:30]
    return render(request, "research.html", runs=asked, depths=DEPTHS)


@router.post("/research")
async def ask(
    request: Request,
    me: WebSession = Editor,
    question: Annotated[str, Form(min_length=3, max_length=2000)] = "",
    depth: Annotated[str, Form(max_length=20)] = "standard",
) -> Response:
    service = await research_service(request)
    await service.check_sources(None)
    options = {"depth": depth if depth in DEPTHS else "standard"}
    run = await run_service(request).create(principal_of(me), question, agent="research", options=options)
    return RedirectResponse(f"/research/{run.id}", status_code=303)


@router.get("/research/{run_id}")
async def report_page(request: Request, run_id: str, me: WebSession = Anyone) -> Response:
    service = run_service(request)
    run = await service.get(principal_of(me), run_id)
    if run.agent != "research":
        raise NotFound(f"run {run_id[:80]!r} is not a research run")
    events = await research_events(service.database, run_id)
    report: dict[str, Any] | None = (
        json.loads(run.output) if run.status == "succeeded" and run.output else None
    )
    return render(
        request,
        "research_report.html",
        run=run,
        events=[e.json() for e in events],
        report=report,
        sections=_sections(report) if report else [],
        sources={c["n"]: c for c in report["citations"]} if report else {},
        live=run.status not in TERMINAL_STATUSES,
    )


def _sections(report: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """The claims under the sub-question they answer, in the report's order."""
    grouped: dict[str, list[dict[str, Any]]] = {sub: [] for sub in report["sub_questions"]}
    for claim in report["claims"]:
        grouped.setdefault(claim["sub_question"], []).append(claim)
    return [(sub, claims) for sub, claims in grouped.items() if claims]
