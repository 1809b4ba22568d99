"""The approvals page: every held tool call the user may decide — from runs, chat turns, MCP clients, the CLI.

Deciding goes through `ApprovalDesk`: a run is woken, a chat turn in this process goes on at once, and a call
held outside both runs here, once, with its result shown in place.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from sophia.runs import ApprovalDesk, Decided
from sophia.server._runs import run_service
from sophia.server.web._guard import ANYONE, MODEL_USERS, signed_in
from sophia.server.web._pages_runs import principal_of
from sophia.server.web._render import render
from sophia.server.web._sessions import WebSession
from sophia.server.web._state import web_state

__all__ = ["approval_desk", "router"]

router = APIRouter(tags=["web"], include_in_schema=False)
Anyone = signed_in(*ANYONE)
Editor = signed_in(*MODEL_USERS)
_FILTERS = ("pending", "approved", "denied", "all")


def approval_desk(request: Request) -> ApprovalDesk:
    return ApprovalDesk(run_service(request), waiters=web_state(request).chat.wake)


@router.get("/approvals")
async def approvals_page(
    request: Request, me: WebSession = Anyone, status: Annotated[str, Query(max_length=20)] = "pending"
) -> Response:
    chosen = status if status in _FILTERS else "pending"
    found = await approval_desk(request).list(principal_of(me), status=None if chosen == "all" else chosen)
    return render(request, "approvals.html", approvals=found, filter_status=chosen, filters=_FILTERS)


@router.post("/approvals/{approval_id}/{decision}")
async def decide(request: Request, approval_id: str, decision: str, me: WebSession = Editor) -> Response:
    if decision not in ("approve", "deny"):
        return Response(status_code=404)
    desk, principal = approval_desk(request), principal_of(me)
    decided: Decided = await (desk.approve if decision == "approve" else desk.deny)(principal, approval_id)
    if request.headers.get("hx-request") != "true":
        return RedirectResponse("/approvals", status_code=303)
    result = decided.result.text if decided.result is not None else None
    return render(request, "_approval.html", a=decided.approval, result=result, failure=decided.error)
