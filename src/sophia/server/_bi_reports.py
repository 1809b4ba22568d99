"""`/v1/bi/reports*`: the stored scheduled reports, their charts, and running one now (admin)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from sophia.accounts import Principal, Role
from sophia.bi import Reports
from sophia.server._auth import require_role, services

__all__ = ["reports_of", "router"]

router = APIRouter(prefix="/v1/bi/reports", tags=["bi"])
Admin = require_role(Role.ADMIN)
Reader = require_role(Role.ADMIN, Role.MEMBER)
ReportId = Annotated[int, Path(ge=1, le=2**31 - 1, description="A stored report's id.")]
ReportName = Annotated[str, Path(max_length=64, description="A report of [bi.reports.NAME].")]


def reports_of(request: Request) -> Reports:
    found = services(request)
    connectors = found.tools.connectors if found.tools is not None else None
    return Reports(found.settings, found.database, connectors)


@router.get(
    "", summary="The configured reports with their last delivery, and the stored reports, newest first"
)
async def list_reports(
    request: Request,
    _: Principal = Reader,
    name: Annotated[str | None, Query(max_length=64, description="Only this report's rows.")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    reports = reports_of(request)
    if name is not None:
        reports.report(name)
    stored = await reports.stored(name, limit)
    return {"configured": await reports.overview(), "reports": [r.json(full=False) for r in stored]}


@router.get("/{report_id}", summary="One stored report: its markdown text, Vega-Lite spec and delivery state")
async def get_report(request: Request, report_id: ReportId, _: Principal = Reader) -> dict[str, Any]:
    return (await reports_of(request).get(report_id)).json()


@router.get("/{report_id}/png", summary="The report's chart as PNG", response_class=Response)
async def get_report_png(request: Request, report_id: ReportId, _: Principal = Reader) -> Response:
    return Response(await reports_of(request).png(report_id), media_type="image/png")


@router.post("/{name}/run", summary="Render a configured report now and deliver it (admin)")
async def run_report(
    request: Request,
    name: ReportName,
    _: Principal = Admin,
    deliver: Annotated[bool, Query(description="Send it to its destinations (else only keep it).")] = True,
) -> dict[str, Any]:
    return (await reports_of(request).run(name, deliver=deliver)).json()
