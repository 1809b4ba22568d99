"""One run's bookkeeping: step numbers, limits, cost, and the model and tool steps themselves.

Step bodies return plain JSON (errors included, as data) so a durable executor can checkpoint them and a
replay after a crash sees exactly what the first execution saw.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from typing import Any

from sophia.agents._model import (
    AgentError,
    AgentSpec,
    CostLimitExceeded,
    RunLimits,
    StepLimitExceeded,
    StepRecord,
    TimeLimitExceeded,
)
from sophia.agents._steps import StepExecutor
from sophia.errors import SophiaError
from sophia.gateway import Caller, Gateway
from sophia.tools import (
    ApprovalRequired,
    SideEffect,
    ToolContext,
    ToolError,
    ToolInvoker,
    redact_text,
)

__all__ = ["RunState"]

_SHOWN_CHARS = 600


class RunState:
    """Shared by every agent of one run (delegates and team members too), so the limits hold for the run."""

    def __init__(
        self,
        gateway: Gateway,
        invoker: ToolInvoker,
        steps: StepExecutor,
        *,
        caller: Caller,
        context: ToolContext,
        limits: RunLimits,
    ) -> None:
        self.gateway = gateway
        self.invoker = invoker
        self.steps = steps
        self.caller = caller
        self.context = context
        self.limits = limits
        self.started = time.monotonic()
        self.seq = 0
        self.cost_usd = 0.0
        self.records: list[StepRecord] = []
        self.models: list[str] = []
        self.errors: list[str] = []
        self.failure: SophiaError | None = None

    # ----------------------------------------------------------------------------------------------- limits

    def check_limits(self) -> None:
        if self.seq >= self.limits.max_steps:
            raise StepLimitExceeded(
                f"the run reached its limit of {self.limits.max_steps} steps; raise max_steps or simplify the task"
            )
        if self.cost_usd >= self.limits.max_cost_usd:
            raise CostLimitExceeded(
                f"the run spent ${self.cost_usd:.4f}, its limit is ${self.limits.max_cost_usd:.4f}; "
                "raise max_cost_usd or use a cheaper model"
            )
        if time.monotonic() - self.started >= self.limits.max_seconds:
            raise TimeLimitExceeded(
                f"the run took longer than its limit of {self.limits.max_seconds:g} seconds; raise max_seconds"
            )

    def _next(self) -> int:
        self.check_limits()
        self.seq += 1
        return self.seq

    async def _record(self, step: StepRecord) -> None:
        self.records.append(step)
        if step.status == "error" and step.error:
            self.errors.append(f"{step.name}: {step.error}")
        await self.steps.record(step)

    # ----------------------------------------------------------------------------------------------- model

    async def model_step(self, spec: AgentSpec, body: dict[str, Any], tool_names: set[str]) -> dict[str, Any]:
        """One gateway call; an error comes back as data so it replays like any other result."""
        seq = self._next()
        body = {**body, "model": spec.requested_model, "stream": False}
        body.pop("stream_options", None)

        async def call() -> dict[str, Any]:
            try:
                response, outcome = await self.gateway.complete(body, self.caller, uuid.uuid4().hex)
            except SophiaError as error:
                return {"error": {"code": error.code, "message": error.message}}
            return {
                "response": response,
                "model": outcome.model.name,
                "cost_usd": outcome.cost_usd,
                "input_tokens": outcome.input_tokens,
                "output_tokens": outcome.output_tokens,
            }

        data = await self.steps.run_step(seq, f"model:{spec.name}", call, once=False)
        if "error" in data:
            error = data["error"]
            await self._record(StepRecord(seq, "model", "model", spec.name, "error", error=error["message"]))
            raise AgentError(f"the model call failed: {error['message']}")
        self.cost_usd += float(data["cost_usd"])
        self.models.append(str(data["model"]))
        step = StepRecord(
            seq,
            "model",
            "model",
            spec.name,
            "ok",
            float(data["cost_usd"]),
            str(data["model"]),
            int(data["input_tokens"]),
            int(data["output_tokens"]),
            _model_detail(data["response"]),
        )
        await self._record(step)
        await self._record_unknown_tools(spec, data["response"], tool_names)
        return dict(data["response"])

    async def _record_unknown_tools(
        self, spec: AgentSpec, response: dict[str, Any], tool_names: set[str]
    ) -> None:
        for call in _tool_calls(response):
            name = str((call.get("function") or {}).get("name", ""))
            if name not in tool_names:
                message = f"there is no tool named {name[:80]!r} for agent {spec.name}"
                await self._record(StepRecord(self.seq, "tool", name[:64], spec.name, "error", error=message))

    # ------------------------------------------------------------------------------------------------ tools

    async def tool_step(self, spec: AgentSpec, name: str, arguments: dict[str, Any]) -> str:
        """Call a registry tool through the invoker; every failure becomes a tool error the model can read."""
        seq = self._next()
        context = _with_agent(self.context, spec.name)
        once = name in self.invoker.registry and self.invoker.registry.get(name).effect is not SideEffect.READ

        async def call() -> dict[str, Any]:
            try:
                result = await self.invoker.invoke(name, arguments, context)
            except ApprovalRequired as pending:
                return {"status": "waiting_approval", "approval_id": pending.approval.id}
            except ToolError as error:
                return {"status": "error", "code": error.code, "message": error.message}
            return {"status": "ok", "text": result.text, "truncated": result.truncated}

        data = await self.steps.run_step(seq, f"tool:{name}", call, once=once)
        if data["status"] == "waiting_approval":
            data = await self._after_approval(spec, seq, name, str(data["approval_id"]))
        return await self._finish_tool(spec, seq, name, arguments, data)

    async def _after_approval(self, spec: AgentSpec, seq: int, name: str, approval_id: str) -> dict[str, Any]:
        await self._record(
            StepRecord(seq, "tool", name, spec.name, "waiting_approval", detail={"approval_id": approval_id})
        )

        async def check() -> str:
            return (await self.invoker.approval(approval_id)).status

        status = await self.steps.wait_for_decision(approval_id, check)
        if status == "denied":
            return {
                "status": "denied",
                "code": "tool_denied",
                "message": f"a person denied the call to {name}",
            }
        if status != "approved":
            return {
                "status": "waiting_approval",
                "approval_id": approval_id,
                "message": f"{name} needs a person's approval (approval {approval_id}); it has not run yet",
            }

        async def run_approved() -> dict[str, Any]:
            try:
                result = await self.invoker.invoke_approved(approval_id)
            except ToolError as error:
                return {"status": "error", "code": error.code, "message": error.message}
            return {
                "status": "ok",
                "text": result.text,
                "truncated": result.truncated,
                "approval_id": approval_id,
            }

        return await self.steps.run_step(self.seq, f"tool:{name}:approved", run_approved, once=True)

    async def _finish_tool(
        self, spec: AgentSpec, seq: int, name: str, arguments: dict[str, Any], data: dict[str, Any]
    ) -> str:
        shown_arguments = redact_text(str(arguments))[:_SHOWN_CHARS]
        detail: dict[str, Any] = {"arguments": shown_arguments}
        if data.get("approval_id"):
            detail["approval_id"] = data["approval_id"]
        if data["status"] == "ok":
            text = str(data["text"])
            detail["result"] = redact_text(text)[:_SHOWN_CHARS]
            await self._record(StepRecord(seq, "tool", name, spec.name, "ok", detail=detail))
            return text
        message = str(data.get("message") or "the tool failed")
        if data["status"] == "waiting_approval":  # already recorded as waiting; nothing ran
            return f"TOOL PENDING (approval_required): {message}"
        status = "denied" if data["status"] == "denied" else "error"
        await self._record(StepRecord(seq, "tool", name, spec.name, status, detail=detail, error=message))
        return f"TOOL ERROR ({data.get('code', status)}): {message}"


def _with_agent(context: ToolContext, agent: str) -> ToolContext:
    return dataclasses.replace(context, agent=agent)


def _tool_calls(response: dict[str, Any]) -> list[dict[str, Any]]:
    choices = response.get("choices") or [{}]
    message = choices[0].get("message") or {}
    return list(message.get("tool_calls") or [])


def _model_detail(response: dict[str, Any]) -> dict[str, Any]:
    choices = response.get("choices") or [{}]
    message = choices[0].get("message") or {}
    calls = [str((c.get("function") or {}).get("name", "")) for c in message.get("tool_calls") or []]
    text = message.get("content") or ""
    return {"text": redact_text(str(text))[:_SHOWN_CHARS], "tool_calls": calls}
