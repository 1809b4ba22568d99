"""The runs page: runs with status, steps and cost; approve or deny a waiting tool call; cancel.

It calls the same `RunService` as `/v1/runs` (built lazily on `app.state.run_service`); members see and decide
only their own runs, admins all of them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import RedirectResponse, Response

from sophia.accounts import Principal
from sophia.agents import RunLimits
from sophia.coding import code_view
from sophia.runs import AGENT_KINDS, RUN_STATUSES, TERMINAL_STATUSES, RunService
from sophia.server._runs import run_service
from sophia.server.web._guard import ANYONE, MODEL_USERS, signed_in
from sophia.server.web._render import render
from sophia.server.web._sessions import WebSession
from sophia.tools import ApprovalNotFound

router = APIRouter(tags=["web"], include_in_schema=False)
Anyone = signed_in(*ANYONE)
Editor = signed_in(*MODEL_USERS)
Reason = Annotated[str, Form(max_length=500)]


def principal_of(me: WebSession) -> Principal:
    """A browser session acts as its user with every scope its role allows (API-key scopes do not apply)."""
    return Principal(
        user_id=me.user_id, user_name=me.user_name, role=me.role, key_id=None, scopes=("*",), budget_usd=None
    )


@router.get("/runs")
async def runs_page(
    request: Request, me: WebSession = Anyone, status: Annotated[str, Query(max_length=40)] = ""
) -> Response:
    chosen = status if status in RUN_STATUSES else None
    runs = await run_service(request).list(principal_of(me), status=chosen, limit=100)
    live = any(run.status not in TERMINAL_STATUSES for run in runs)
    return render(
        request,
        "runs.html",
        runs=runs,
        filter_status=chosen or "",
        statuses=RUN_STATUSES,
        agents=AGENT_KINDS,
        live=live,
    )


@router.post("/runs")
async def start_run(
    request: Request,
    me: WebSession = Editor,
    task: Annotated[str, Form(max_length=20_000)] = "",
    agent: Annotated[str, Form(max_length=40)] = "chat",
    max_cost_usd: Annotated[float, Form(ge=0, le=1000)] = 1.0,
) -> Response:
    limits = RunLimits(max_cost_usd=max_cost_usd)
    run = await run_service(request).create(principal_of(me), task, agent=agent, limits=limits)
    return RedirectResponse(f"/runs/{run.id}", status_code=303)


@router.get("/runs/{run_id}")
async def run_page(request: Request, run_id: str, me: WebSession = Anyone) -> Response:
    detail = await run_service(request).detail(principal_of(me), run_id)
    waiting = [a for a in detail.approvals if a.status == "pending"]
    return render(
        request,
        "run.html",
        run=detail.run,
        steps=detail.steps,
        approvals=detail.approvals,
        waiting=waiting,
        audit=detail.audit,
        live=detail.run.status not in TERMINAL_STATUSES,
        code=code_view(detail.run.output) if detail.run.agent == "code" and detail.run.output else None,
    )


async def _decidable(service: RunService, principal: Principal, run_id: str, approval_id: str) -> None:
    """The approval must belong to a run the caller can see; otherwise it does not exist for them."""
    await service.get(principal, run_id)
    record = await service.invoker.approval(approval_id)
    if record.run_id != run_id:
        raise ApprovalNotFound(f"there is no approval {approval_id[:40]!r} in run {run_id[:80]!r}")


@router.post("/runs/{run_id}/approvals/{approval_id}/{decision}")
async def decide(
    request: Request,
    run_id: str,
    approval_id: str,
    decision: str,
    me: WebSession = Editor,
    reason: Reason = "",
) -> Response:
    if decision not in ("approve", "deny"):
        return Response(status_code=404)
    service, principal = run_service(request), principal_of(me)
    await _decidable(service, principal, run_id, approval_id)
    if decision == "approve":
        await service.approve(principal, approval_id, reason or None)
    else:
        await service.deny(principal, approval_id, reason or None)
    return RedirectResponse(f"/runs/{run_id}", status_code=303)


@router.post("/runs/{run_id}/cancel")
async def cancel(request: Request, run_id: str, me: WebSession = Editor) -> Response:
    await run_service(request).cancel(principal_of(me), run_id)
    return RedirectResponse(f"/runs/{run_id}", status_code=303)
