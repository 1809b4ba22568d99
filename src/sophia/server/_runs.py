"""`/v1/runs`: create, list, show (steps, costs, approvals, audit), approve/deny, cancel.

A member sees and decides only their own runs; an admin sees all. Runs execute on `sophia worker`s.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from sophia.agents import RunLimits
from sophia.runs import AGENT_KINDS, PLUGGED_KINDS, RunService, system_database_url
from sophia.server._auth import CurrentPrincipal
from sophia.server._schemas import Number
from sophia.server._services import Services

__all__ = ["app_run_service", "router", "run_service"]

router = APIRouter(prefix="/v1/runs", tags=["runs"])


class CreateRun(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task: str = Field(min_length=1, max_length=20_000)
    agent: Literal["chat", "team", "consensus"] = Field(
        default="chat", description="chat (one agent), team (plan, specialists, review) or consensus."
    )
    workspace: str | None = Field(
        default=None,
        max_length=4096,
        pattern=r"^/[^\x00]*$",
        description="An existing directory under an allowed root; default: a new SOPHIA_HOME/workspaces/<run id>.",
    )
    max_steps: Annotated[int, Field(ge=1, le=500), Number] = 30
    max_cost_usd: Annotated[float, Field(ge=0, le=1000), Number] = 1.0
    max_seconds: Annotated[float, Field(ge=1, le=86_400), Number] = 600.0


class Decision(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    reason: str | None = Field(default=None, max_length=500)


def run_service(request: Request) -> RunService:
    """One per app: the hosted worker's, or one built on first use from the app's services and tools."""
    return app_run_service(request.app)


def app_run_service(app: Any) -> RunService:
    """`run_service` for code that holds the app but no request (a background poller)."""
    found: RunService | None = getattr(app.state, "run_service", None)
    if found is None:
        base: Services = app.state.services
        kit = base.toolkit()
        found = RunService(
            base.database,
            kit.invoker,
            system_database_url=system_database_url(base.settings),
            workspaces=kit.workspaces,
        )
        app.state.run_service = found
    return found


@router.post("", status_code=201)
async def create_run(body: CreateRun, request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    limits = RunLimits(body.max_steps, body.max_cost_usd, body.max_seconds)
    run = await run_service(request).create(
        principal, body.task, agent=body.agent, limits=limits, workspace=body.workspace
    )
    return run.to_dict()


@router.get("")
async def list_runs(
    request: Request, principal: CurrentPrincipal, status: str | None = None, limit: int = 50
) -> dict[str, Any]:
    runs = await run_service(request).list(principal, status=status, limit=limit)
    return {"object": "list", "data": [run.to_dict() for run in runs]}


@router.get("/{run_id}")
async def show_run(run_id: str, request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    return (await run_service(request).detail(principal, run_id)).to_dict()


@router.post("/{run_id}/approvals/{approval_id}/approve")
async def approve(
    run_id: str, approval_id: str, body: Decision, request: Request, principal: CurrentPrincipal
) -> dict[str, Any]:
    return await _decide(request, principal, run_id, approval_id, body, approved=True)


@router.post("/{run_id}/approvals/{approval_id}/deny")
async def deny(
    run_id: str, approval_id: str, body: Decision, request: Request, principal: CurrentPrincipal
) -> dict[str, Any]:
    return await _decide(request, principal, run_id, approval_id, body, approved=False)


async def _decide(
    request: Request, principal: Any, run_id: str, approval_id: str, body: Decision, *, approved: bool
) -> dict[str, Any]:
    service = run_service(request)
    await _approval_of(service, principal, run_id, approval_id)
    decide = service.approve if approved else service.deny
    record = await decide(principal, approval_id, body.reason)
    return {"id": record.id, "status": record.status}


@router.post("/{run_id}/cancel")
async def cancel(run_id: str, request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    return (await run_service(request).cancel(principal, run_id)).to_dict()


async def _approval_of(service: RunService, principal: Any, run_id: str, approval_id: str) -> None:
    """The approval must belong to a run the caller can see; otherwise it does not exist for them."""
    from sophia.tools import ApprovalNotFound

    await service.get(principal, run_id)
    record = await service.invoker.approval(approval_id)
    if record.run_id != run_id:
        raise ApprovalNotFound(f"there is no approval {approval_id[:40]!r} in run {run_id[:80]!r}")


# `code` runs need a repository: they are started with `sophia code`, not through this route.
assert set(AGENT_KINDS) - set(PLUGGED_KINDS) == {"chat", "team", "consensus"}, (
    "CreateRun.agent lists every agent kind"
)
