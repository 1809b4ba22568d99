"""Runs as read-only MCP resources, confined to the caller exactly as `RunService` confines `sophia runs`.

A member sees the runs they started, an admin every run; reading one gives its status, cost, steps, approvals
and audit trail, the same record `GET /v1/runs/{id}` returns.
"""

from __future__ import annotations

import json
from typing import Any

import mcp_types as types

from mcp import MCPError
from sophia.accounts import Principal
from sophia.errors import SophiaError
from sophia.runs import RunInfo, RunService
from sophia.tools import ToolContext

__all__ = ["RUN_TEMPLATE", "RUNS_URI", "RunResources", "run_principal"]

RUNS_URI = "runs://runs"
RUN_TEMPLATE = "runs://runs/{id}"
_RUN_PREFIX = "runs://runs/"
_LISTED = 50
_TASK_CHARS = 200
LOCAL_USER_ID = 0
"""Runs started on this machine with no account (`sophia run` before any admin exists) belong to user 0."""


def run_principal(context: ToolContext) -> Principal:
    """The principal `RunService` confines by: the caller's user and role (the local operator is user 0)."""
    user_id = context.user_id if context.user_id is not None else LOCAL_USER_ID
    return Principal(user_id, context.user_name or "local", context.role, context.key_id, ("*",), None)


def _json(uri: str, value: Any) -> types.ReadResourceResult:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return types.ReadResourceResult(
        contents=[types.TextResourceContents(uri=uri, mime_type="application/json", text=text)]
    )


def _summary(run: RunInfo) -> dict[str, Any]:
    return {
        "id": run.id,
        "uri": f"{_RUN_PREFIX}{run.id}",
        "agent": run.agent,
        "task": run.task[:_TASK_CHARS],
        "status": run.status,
        "cost_usd": run.cost_usd,
        "steps": run.steps,
        "created_at": run.created_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
    }


class RunResources:
    """`runs://runs` lists the caller's latest runs; `runs://runs/{id}` reads one with its steps and cost."""

    def __init__(self, runs: RunService | None) -> None:
        self.runs = runs

    @property
    def available(self) -> bool:
        return self.runs is not None

    def owns(self, uri: str) -> bool:
        return uri == RUNS_URI or uri.startswith(_RUN_PREFIX)

    async def resources(self, context: ToolContext) -> list[types.Resource]:
        if self.runs is None:
            return []
        index = types.Resource(
            uri=RUNS_URI,
            name="runs",
            description="Your latest runs (an admin sees everyone's): status, cost and step count.",
            mime_type="application/json",
        )
        recent = await self.runs.list(run_principal(context), limit=_LISTED)
        return [
            index,
            *(
                types.Resource(
                    uri=f"{_RUN_PREFIX}{run.id}",
                    name=run.id,
                    description=f"{run.status}: {run.task[:80]}",
                    mime_type="application/json",
                )
                for run in recent
            ),
        ]

    def templates(self) -> list[types.ResourceTemplate]:
        if self.runs is None:
            return []
        return [
            types.ResourceTemplate(
                uri_template=RUN_TEMPLATE,
                name="run",
                description="One run by id: status, cost, every model and tool step, approvals and audit.",
                mime_type="application/json",
            )
        ]

    async def read(self, uri: str, context: ToolContext) -> types.ReadResourceResult:
        if self.runs is None:
            raise MCPError(types.INVALID_PARAMS, f"no resource {uri[:200]!r}: this server has no runs")
        principal = run_principal(context)
        if uri == RUNS_URI:
            runs = await self.runs.list(principal, limit=_LISTED)
            return _json(uri, {"runs": [_summary(run) for run in runs]})
        run_id = uri.removeprefix(_RUN_PREFIX)
        try:
            detail = await self.runs.detail(principal, run_id)
        except SophiaError as error:
            raise MCPError(types.INVALID_PARAMS, error.message) from None
        return _json(uri, detail.to_dict())
