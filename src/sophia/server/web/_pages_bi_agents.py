"""`/bi/recruit` (admins: roles, resumes and ranked candidates with their reasons) and `/bi/strategy` (everyone:
opportunities and risks ranked by evidence weight, each with its records and research citations)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import RedirectResponse, Response

from sophia.accounts import Role
from sophia.bi import RecruitDesk, load_strategy, parse_candidate, parse_role
from sophia.business import BusinessStore
from sophia.server.web._guard import ANYONE, signed_in
from sophia.server.web._memories import memory_of
from sophia.server.web._render import render
from sophia.server.web._sessions import WebSession
from sophia.server.web._state import web_state

router = APIRouter(tags=["web"], include_in_schema=False)
Hr = signed_in(Role.ADMIN)
Anyone = signed_in(*ANYONE)
Text = Annotated[str, Form(min_length=1, max_length=64 * 1024)]


@router.get("/bi/recruit")
async def recruit_page(
    request: Request, me: WebSession = Hr, role: Annotated[str, Query(max_length=120)] = ""
) -> Response:
    desk = RecruitDesk(await memory_of(request))
    roles = await desk.roles()
    chosen = role or (roles[0].id if roles else "")
    matches = await desk.match(chosen, k=20) if chosen else []
    candidates = await desk.candidates()
    return render(
        request, "bi_recruit.html", roles=roles, chosen=chosen, matches=matches, candidates=candidates
    )


@router.post("/bi/recruit/roles")
async def recruit_add_role(request: Request, text: Text, me: WebSession = Hr) -> Response:
    role = parse_role(text)
    await RecruitDesk(await memory_of(request)).add_role(role)
    return RedirectResponse(f"/bi/recruit?role={quote(role.id)}", status_code=303)


@router.post("/bi/recruit/candidates")
async def recruit_add_candidate(
    request: Request, text: Text, role: Annotated[str, Form(max_length=120)] = "", me: WebSession = Hr
) -> Response:
    await RecruitDesk(await memory_of(request)).add_candidate(parse_candidate(text))
    return RedirectResponse(f"/bi/recruit?role={quote(role)}", status_code=303)


@router.get("/bi/strategy")
async def strategy_page(
    request: Request,
    me: WebSession = Anyone,
    question: Annotated[str, Query(max_length=500)] = "",
    competitor: Annotated[str, Query(max_length=500, description="comma-separated")] = "",
) -> Response:
    names = [c.strip() for c in competitor.split(",") if c.strip()]
    result = await load_strategy(
        BusinessStore(web_state(request).services.database),
        await memory_of(request),
        [f"user:{me.user_id}", "global"],
        question=question.strip() or None,
        competitors=names,
    )
    return render(request, "bi_strategy.html", result=result, question=question, competitor=competitor)
