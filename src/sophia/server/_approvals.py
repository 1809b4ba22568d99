"""`/v1/approvals`: held tool calls from anywhere (runs, chat turns, MCP clients); list, approve, deny.

Members see and decide their own requests, admins all. Approving a call held outside a run and outside a live
chat turn runs it now, once, and answers with its output.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request

from sophia.runs import ApprovalDesk
from sophia.server._auth import CurrentPrincipal
from sophia.server._runs import Decision, run_service
from sophia.tools import ApprovalRecord

__all__ = ["router"]

router = APIRouter(prefix="/v1/approvals", tags=["approvals"])


def _desk(request: Request) -> ApprovalDesk:
    web = getattr(request.app.state, "web", None)
    chat = getattr(web, "chat", None) if web is not None and web.bound else None
    return ApprovalDesk(run_service(request), waiters=chat.wake if chat is not None else None)


def _record(a: ApprovalRecord) -> dict[str, Any]:
    return {
        "id": a.id,
        "tool": a.tool,
        "effect": a.effect,
        "arguments": a.arguments,
        "status": a.status,
        "run_id": a.run_id,
        "requested_at": a.requested_at,
        "decided_at": a.decided_at,
        "execution": a.execution,
    }


@router.get("")
async def list_approvals(
    request: Request,
    principal: CurrentPrincipal,
    status: Literal["pending", "approved", "denied", "all"] = "pending",
) -> dict[str, Any]:
    found = await _desk(request).list(principal, status=None if status == "all" else status)
    return {"object": "list", "data": [_record(a) for a in found]}


@router.post("/{approval_id}/approve")
async def approve(
    approval_id: str, body: Decision, request: Request, principal: CurrentPrincipal
) -> dict[str, Any]:
    return (await _desk(request).approve(principal, approval_id, body.reason)).to_dict()


@router.post("/{approval_id}/deny")
async def deny(
    approval_id: str, body: Decision, request: Request, principal: CurrentPrincipal
) -> dict[str, Any]:
    return (await _desk(request).deny(principal, approval_id, body.reason)).to_dict()
