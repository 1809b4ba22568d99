"""`/v1/connectors`: the configured connectors and their checks, and the signed inbound webhook of each.

The webhook route is public by design: the service's signature (GitHub's HMAC, Slack's signing secret, Telegram's
secret token) authenticates it, and a request that fails the check is refused before anything is kept.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from sophia.accounts import Role
from sophia.connectors import Connectors, ConnectorState, accept_webhook, run_sync, sync_overview
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


class SyncRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    full: bool = Field(default=False, description="Re-read everything (still writes no duplicate).")
    streams: list[str] | None = Field(default=None, description="Only these streams (default: all).")


@router.get("/{name}/sync", dependencies=[require_role(Role.ADMIN)])
async def sync_state(name: str, request: Request) -> dict[str, Any]:
    """The connector's sync streams: cursor age, counts of the last run, last error and failed attempts."""
    connectors = _connectors(request)
    connectors.get(name)
    found = await sync_overview(services(request).settings, connectors, services(request).database, name)
    if not found:
        raise NotFound(f"connector {name} has no records to sync")
    return found[0]


@router.post("/{name}/sync", dependencies=[require_role(Role.ADMIN)])
async def start_sync(name: str, request: Request, body: SyncRequest | None = None) -> dict[str, Any]:
    """Sync now and answer with what was written; a failed stream is reported (and kept in the state), not 500."""
    chosen = body or SyncRequest()
    held = services(request)
    if held.memory is None:
        raise NotFound(
            "memory is off in this process (sophia serve --only gateway); sync from another process"
        )
    report = await run_sync(
        held.settings,
        held.database,
        held.memory,
        name,
        full=chosen.full,
        streams=chosen.streams,
        connectors=_connectors(request),
    )
    return {
        "connector": name,
        "ok": report.ok,
        "totals": report.totals(),
        "streams": [vars(s) for s in report.streams],
    }


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
