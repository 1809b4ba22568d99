"""The connectors page: every configured service, whether it works (last check), its rate-limit state, its
actions, and the recent calls and inbound events with their audit rows; admins run a check from here."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from sophia.accounts import Role
from sophia.connectors import ConnectorState, sync_overview
from sophia.server.web._guard import signed_in
from sophia.server.web._render import render
from sophia.server.web._sessions import WebSession
from sophia.server.web._state import web_state
from sophia.tools import list_tool_audit

__all__ = ["router"]

router = APIRouter(tags=["web"], include_in_schema=False)
AnyUser = signed_in()
AdminUser = signed_in(Role.ADMIN)
_RECENT = 10


async def _cards(request: Request) -> list[dict[str, Any]]:
    services = web_state(request).services
    connectors = services.toolkit().connectors
    if connectors is None:
        return []
    state = ConnectorState(services.database)
    checks = await state.checks()
    syncs = {o["connector"]: o for o in await sync_overview(services.settings, connectors, services.database)}
    cards = []
    for name in connectors.names():
        async with services.database.session() as session:
            calls = await list_tool_audit(session, tool_prefix=f"{name}.", limit=_RECENT)
        cards.append(
            {
                "info": connectors.info(name),
                "check": checks.get(name),
                "calls": calls,
                "events": await state.events(name, _RECENT),
                "sync": syncs.get(name),
            }
        )
    return cards


@router.get("/connectors")
async def connectors_page(request: Request, me: WebSession = AnyUser) -> Response:
    settings = web_state(request).services.settings
    disabled = sorted(n for n, s in settings.connectors.items() if not s.enabled)
    from sophia.connectors import connector_kind_names

    configured = {s.kind or n for n, s in settings.connectors.items()}
    available = [k for k in connector_kind_names() if k not in configured]
    return render(
        request, "connectors.html", cards=await _cards(request), disabled=disabled, available=available
    )


@router.post("/connectors/{name}/check")
async def check_now(request: Request, name: str, me: WebSession = AdminUser) -> Response:
    services = web_state(request).services
    connectors = services.toolkit().connectors
    if connectors is None or name not in connectors.names():
        return Response(status_code=404)
    result = await connectors.check(name)
    await ConnectorState(services.database).record_check(name, result.ok, result.message)
    return RedirectResponse("/connectors", status_code=303)
