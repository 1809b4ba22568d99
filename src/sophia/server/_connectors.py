"""`/v1/connectors`: the configured connectors and their checks, and the signed inbound webhook of each.

The webhook route is public by design: the service's signature (GitHub's HMAC, Slack's signing secret, Telegram's
secret token) authenticates it, and a request that fails the check is refused before anything is kept.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sophia.accounts import Principal, Role, UserStatus
from sophia.connectors import ApprovalDecision, Connectors, ConnectorState, accept_webhook
from sophia.errors import NotFound, SophiaError
from sophia.runs import ApprovalDesk
from sophia.server._auth import CurrentPrincipal, require_role, services
from sophia.server._runs import run_service

__all__ = ["router"]

router = APIRouter(prefix="/v1/connectors", tags=["connectors"])


def _connectors(request: Request) -> Connectors:
    found = services(request).toolkit().connectors
    if found is None:
        raise NotFound("no connectors are configured; add a [connectors.NAME] table to sophia.toml")
    return found


@router.get("")
async def list_connectors(request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    kit = services(request).toolkit()
    if kit.connectors is None:
        return {"object": "list", "data": []}
    checks = await ConnectorState(services(request).database).checks()
    data = []
    for name in kit.connectors.names():
        info = kit.connectors.info(name).to_record()
        check = checks.get(name)
        info["last_check"] = (
            None
            if check is None
            else {"ok": check.ok, "message": check.message, "at": check.checked_at.isoformat()}
        )
        data.append(info)
    return {"object": "list", "data": data}


@router.post("/{name}/check", dependencies=[require_role(Role.ADMIN)])
async def check_connector(name: str, request: Request) -> dict[str, Any]:
    result = await _connectors(request).check(name)
    await ConnectorState(services(request).database).record_check(name, result.ok, result.message)
    return {"name": name, "ok": result.ok, "message": result.message, "detail": result.detail}


@router.get("/{name}/events", dependencies=[require_role(Role.ADMIN)])
async def list_events(name: str, request: Request, limit: int = 50) -> dict[str, Any]:
    _connectors(request).get(name)
    found = await ConnectorState(services(request).database).events(name, max(1, min(limit, 500)))
    return {
        "object": "list",
        "data": [
            {
                "id": e.id,
                "type": e.type,
                "summary": e.summary,
                "run_id": e.run_id,
                "received_at": e.received_at,
            }
            for e in found
        ],
    }


async def _first_admin(request: Request) -> Principal | None:
    users = await services(request).accounts.list_users()
    admin = next((u for u in users if u.role is Role.ADMIN and u.status is UserStatus.ACTIVE), None)
    return None if admin is None else Principal(admin.id, admin.name, Role.ADMIN, None, ("*",), None)


async def _apply_decision(request: Request, decision: ApprovalDecision) -> dict[str, Any]:
    """A signed button click: the mapped Sophia user approves or denies as if through /v1/approvals."""
    if decision.user is None:
        return {"applied": False, "reason": "this person is not mapped to a Sophia user (options.approvers)"}
    try:
        user = await services(request).accounts.get_user(decision.user)
    except SophiaError:
        return {"applied": False, "reason": "the mapped Sophia user does not exist"}
    if user.status is not UserStatus.ACTIVE:
        return {"applied": False, "reason": "the mapped Sophia user is not active"}
    principal = Principal(user.id, user.name, user.role, None, ("*",), None)
    web = getattr(request.app.state, "web", None)
    chat = getattr(web, "chat", None) if web is not None and getattr(web, "bound", False) else None
    desk = ApprovalDesk(run_service(request), waiters=chat.wake if chat is not None else None)
    try:
        if decision.approve:
            decided = await desk.approve(
                principal, decision.approval_id, f"via button by {decision.external_user}"
            )
        else:
            decided = await desk.deny(
                principal, decision.approval_id, f"via button by {decision.external_user}"
            )
    except SophiaError as error:
        return {"applied": False, "reason": error.message}
    return {"applied": True, **decided.to_dict()}


@router.post("/{name}/webhook", status_code=200)
async def receive_webhook(name: str, request: Request) -> Any:
    body = await request.body()
    state = ConnectorState(services(request).database)
    accepted = await accept_webhook(_connectors(request), state, name, dict(request.headers), body)
    if accepted.event.reply is not None:
        return JSONResponse(accepted.event.reply)
    if accepted.event_id is None:
        return {"accepted": True, "duplicate": True, "event": accepted.event.type}
    if accepted.event.decision is not None:
        decided = await _apply_decision(request, accepted.event.decision)
        outcome = decided.get("status") if decided["applied"] else decided.get("reason")
        try:
            await _connectors(request).get(name).acknowledge(accepted.event, str(outcome))
        except SophiaError:
            decided["acknowledged"] = False
        return {"accepted": True, "duplicate": False, "event": accepted.event.type, "decision": decided}
    run_id = None
    if accepted.trigger is not None:
        owner = await _first_admin(request)
        if owner is not None:
            prompt = accepted.trigger.prompt.replace("{event}", accepted.event.type).replace(
                "{summary}", accepted.event.summary
            )
            run = await run_service(request).create(owner, prompt, agent=accepted.trigger.agent)
            run_id = run.id
            await state.link_run(accepted.event_id, run_id)
    return {"accepted": True, "duplicate": False, "event": accepted.event.type, "run_id": run_id}
