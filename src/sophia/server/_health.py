"""Liveness and readiness: public, cheap, and telling nothing an attacker could use."""

from __future__ import annotations

from fastapi import APIRouter, Request

from sophia.errors import StorageError
from sophia.server._drain import is_draining
from sophia.server._json import JsonResponse
from sophia.server._schemas import Health, Readiness, ok
from sophia.server._services import Services
from sophia.store import migration_state

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness: the process is up", response_model=None, responses=ok(Health))
async def healthz() -> JsonResponse:
    return JsonResponse({"status": "ok"})


@router.get(
    "/readyz",
    summary="Readiness: the database answers and its migrations are current",
    response_model=None,
    responses={**ok(Readiness), 503: {"model": Readiness, "description": "Not ready"}},
)
async def readyz(request: Request) -> JsonResponse:
    services: Services = request.app.state.services
    if is_draining(request.app):
        return JsonResponse({"status": "draining", "checks": {"server": "draining"}}, status_code=503)
    checks: dict[str, str] = {}
    try:
        await services.database.ping()
        checks["database"] = "ok"
        state = await migration_state(services.database)
        checks["migrations"] = "pending" if state == "pending" else "ok"
    except StorageError:
        checks["database"] = "unreachable"
    ready = all(v == "ok" for v in checks.values())
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks}, status_code=200 if ready else 503
    )
