"""`/v1/connectors`: the configured connectors and their checks, and the signed inbound webhook of each.

The webhook route is public by design: the service's signature (GitHub's HMAC, Slack's signing secret, Telegram's
secret token) authenticates it, and a request that fails the check is refused before anything is kept.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sophia.accounts import Role
from sophia.connectors import Connectors, ConnectorState, accept_webhook
from sophia.errors import NotFound
from sophia.server._auth import CurrentPrincipal, require_role, services
from sophia.server._inbound import InboundEvents

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


@router.post("/{name}/webhook", status_code=200)
async def receive_webhook(name: str, request: Request) -> Any:
    body = await request.body()
    state = ConnectorState(services(request).database)
    accepted = await accept_webhook(_connectors(request), state, name, dict(request.headers), body)
    if accepted.event.reply is not None:
        return JSONResponse(accepted.event.reply)
    return await InboundEvents(request.app).handle(_connectors(request), name, accepted)
