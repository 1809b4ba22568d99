"""The reports page `/bi/reports`: each delivered (or failed) report with its text and its chart, the Vega-Lite spec
drawn in the browser by the vendored vega-embed (no CDN; expressions interpreted, so the CSP needs no eval)."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from sophia.bi import Reports
from sophia.server.web._guard import signed_in
from sophia.server.web._render import render
from sophia.server.web._sessions import WebSession
from sophia.server.web._state import web_state

router = APIRouter(tags=["web"], include_in_schema=False)
AnyUser = signed_in()


@router.get("/bi/reports")
async def reports_page(
    request: Request, me: WebSession = AnyUser, name: str | None = Query(None, max_length=64)
) -> Response:
    services = web_state(request).services
    connectors = services.tools.connectors if services.tools is not None else None
    reports = Reports(services.settings, services.database, connectors)
    stored = await reports.stored(name or None, 30)
    return render(
        request,
        "bi_reports.html",
        configured=await reports.overview(),
        reports=[r.json() for r in stored],
        name=name or "",
    )
