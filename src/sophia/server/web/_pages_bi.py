"""The business pages: the executive overview (KPI cards, Vega-Lite charts, the health table and an ask box that
shows the answer with its SQL, citations and chart) and a coach page per rep with timestamped quotes. Admins and
members only, as `/v1/bi/*`; the same `BiService` backs both."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from sophia.bi import BiService
from sophia.errors import NotFound
from sophia.server._bi import bi_service
from sophia.server._openai import caller_of
from sophia.server.web._guard import MODEL_USERS, signed_in
from sophia.server.web._pages_runs import principal_of
from sophia.server.web._render import render
from sophia.server.web._sessions import WebSession

router = APIRouter(tags=["web"], include_in_schema=False)
Reader = signed_in(*MODEL_USERS)


@router.get("/bi")
async def overview_page(request: Request, me: WebSession = Reader) -> Response:
    service = bi_service(request)
    return render(request, "bi.html", overview=await service.overview(), models=_models(service))


@router.post("/bi/ask")
async def ask(
    request: Request,
    me: WebSession = Reader,
    question: Annotated[str, Form(min_length=3, max_length=2000)] = "",
    model: Annotated[str, Form(min_length=1, max_length=200)] = "auto",
) -> Response:
    answer = await bi_service(request).ask(question, model=model, caller=caller_of(principal_of(me)))
    return render(request, "_bi_answer.html", answer=answer.json())


@router.get("/bi/coach/{rep}")
async def coach_page(request: Request, rep: str, me: WebSession = Reader) -> Response:
    service = bi_service(request)
    found = await service.coach(rep[:200])
    if not found:
        raise NotFound(f"no rep {rep[:80]!r} has calls")
    return render(request, "bi_coach.html", report=found[0], models=_models(service))


@router.post("/bi/coach/{rep}/advice")
async def coach_advice(
    request: Request,
    rep: str,
    me: WebSession = Reader,
    model: Annotated[str, Form(min_length=1, max_length=200)] = "auto",
) -> Response:
    found = await bi_service(request).coach(rep[:200], advice_model=model, caller=caller_of(principal_of(me)))
    return render(request, "_bi_advice.html", advice=found[0]["advice"])


def _models(service: BiService) -> list[str]:
    return ["auto", *(entry.name for entry in service.gateway.catalog)] if service.gateway else ["auto"]
