"""`/v1/bi/recruit/*` (admins only: resumes are personal data in the `hr:recruiting` namespace) and
`/v1/bi/strategy` (any active user; research findings from the namespaces they may read)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from sophia.accounts import Principal, Role
from sophia.bi import (
    RecruitDesk,
    gateway_model,
    interview_questions,
    load_strategy,
    parse_candidate,
    parse_role,
    save_notes,
)
from sophia.business import BusinessStore
from sophia.server._auth import CurrentPrincipal, require_role, services
from sophia.server._memory import memory_service, readable
from sophia.server._openai import caller_of, check_model_user

__all__ = ["HR_ROLES", "router"]

router = APIRouter(prefix="/v1/bi", tags=["bi"])
HR_ROLES = (Role.ADMIN,)
"""Who may read and write the recruiting namespace; an HR role would be added here."""
HrPrincipal = Annotated[Principal, require_role(*HR_ROLES)]
ModelName = Annotated[str | None, Query(description="a model or task name; none: no model is called")]
MAX_DOC = 64 * 1024
Ask = Callable[[str, str], Awaitable[str]]


class DocBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=MAX_DOC)
    name: str | None = Field(default=None, max_length=200, description="candidates: else the first line")


class NotesBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=MAX_DOC)
    model: str | None = None


async def recruit_desk(request: Request) -> RecruitDesk:
    return RecruitDesk(await memory_service(request))


def model_for(request: Request, principal: Principal, model: str | None) -> Ask | None:
    if not model:
        return None
    check_model_user(principal, "chat")
    return gateway_model(services(request).gateway, caller_of(principal), model)


@router.post("/recruit/roles", status_code=201)
async def add_role(request: Request, body: DocBody, principal: HrPrincipal) -> dict[str, Any]:
    role = parse_role(body.text)
    saved = await (await recruit_desk(request)).add_role(role)
    return {
        "object": "bi.recruit.role",
        **saved.json(),
        "title": role.title,
        "must": role.must,
        "nice": role.nice,
    }


@router.get("/recruit/roles")
async def roles(request: Request, principal: HrPrincipal) -> dict[str, Any]:
    found = await (await recruit_desk(request)).roles()
    return {
        "object": "list",
        "data": [{"id": r.id, "title": r.title, "must": r.must, "nice": r.nice} for r in found],
    }


@router.post("/recruit/candidates", status_code=201)
async def add_candidate(request: Request, body: DocBody, principal: HrPrincipal) -> dict[str, Any]:
    candidate = parse_candidate(body.text, body.name)
    saved = await (await recruit_desk(request)).add_candidate(candidate)
    return {"object": "bi.recruit.candidate", **saved.json(), "name": candidate.name}


@router.get("/recruit/candidates")
async def candidates(request: Request, principal: HrPrincipal) -> dict[str, Any]:
    found = await (await recruit_desk(request)).candidates()
    return {"object": "list", "data": [{"id": c.id, "name": c.name, "lines": len(c.lines)} for c in found]}


@router.get("/recruit/roles/{role_id}/matches")
async def matches(
    request: Request,
    role_id: str,
    principal: HrPrincipal,
    k: Annotated[int, Query(ge=1, le=100)] = 10,
    model: ModelName = None,
) -> dict[str, Any]:
    desk = await recruit_desk(request)
    ranked = await desk.match(role_id, k=k, summarize=model_for(request, principal, model))
    return {"object": "list", "role_id": role_id, "data": [m.json() for m in ranked]}


@router.get("/recruit/roles/{role_id}/candidates/{candidate_id}/questions")
async def questions(
    request: Request, role_id: str, candidate_id: str, principal: HrPrincipal, model: ModelName = None
) -> dict[str, Any]:
    desk = await recruit_desk(request)
    asked = await interview_questions(desk, role_id, candidate_id, model_for(request, principal, model))
    return {"object": "bi.recruit.questions", **asked.json()}


@router.post("/recruit/roles/{role_id}/candidates/{candidate_id}/notes", status_code=201)
async def add_notes(
    request: Request, role_id: str, candidate_id: str, body: NotesBody, principal: HrPrincipal
) -> dict[str, Any]:
    desk = await recruit_desk(request)
    model = model_for(request, principal, body.model)
    saved, notes = await save_notes(desk, role_id, candidate_id, body.text, model)
    return {"object": "bi.recruit.notes", **saved.json(), "notes": notes.model_dump()}


@router.get("/recruit/roles/{role_id}/candidates/{candidate_id}/notes")
async def notes_versions(
    request: Request, role_id: str, candidate_id: str, principal: HrPrincipal
) -> dict[str, Any]:
    versions = await (await recruit_desk(request)).history(
        "notes", role_id=role_id, candidate_id=candidate_id
    )
    data = [
        {"memory_id": m.id, "version": n, "current": m.valid_until is None, "created_at": m.valid_from.isoformat(),
         "notes": m.metadata.get("notes")}
        for n, m in enumerate(versions, 1)
    ]  # fmt: skip
    return {"object": "list", "data": data}


@router.get("/strategy")
async def strategy(
    request: Request,
    principal: CurrentPrincipal,
    question: Annotated[str | None, Query(max_length=500)] = None,
    competitor: Annotated[list[str] | None, Query(description="repeat for several")] = None,
    source: str | None = None,
    model: ModelName = None,
) -> dict[str, Any]:
    result = await load_strategy(
        BusinessStore(services(request).database),
        await memory_service(request),
        readable(principal),
        question=question,
        competitors=competitor or (),
        model=model_for(request, principal, model),
        source=source,
    )
    return {"object": "bi.strategy", **result.json()}
