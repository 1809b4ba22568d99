"""One coding task's steps: model calls and tool calls, each run through a `StepExecutor` (durable in a run).

Tool calls go through the `ToolInvoker`, so the approval policy, the audit and the workspace confinement apply;
a held call waits for a person through the executor (a DBOS `recv` in a durable run) and runs once when approved.
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

from sophia.agents import (
    CostLimitExceeded,
    RunLimits,
    StepExecutor,
    StepFunction,
    StepLimitExceeded,
    StepRecord,
)
from sophia.errors import SophiaError
from sophia.gateway import Caller, Gateway
from sophia.tools import ApprovalRequired, SideEffect, ToolContext, ToolError, ToolInvoker, redact_text

__all__ = ["CodeSession", "ModelReply", "ToolOutcome"]

_SHOWN_CHARS = 2000
AGENT = "coder"
IDEMPOTENT = frozenset({"code.test", "code.commit", "code.push", "code.pr", "code.checks"})
"""Tools safe to run again after a crash cut them off: each checks the world first (the remote's branch head,
the open pull request for the branch, staged changes) and does nothing twice. An edit is never re-applied."""


@dataclasses.dataclass(frozen=True, slots=True)
class ModelReply:
    text: str
    model: str
    cost_usd: float
    request_id: str = ""
    """The gateway request id (the usage ledger's), which an outcome is recorded against."""


@dataclasses.dataclass(frozen=True, slots=True)
class ToolOutcome:
    status: str
    """`ok`, `error`, `denied` or `waiting_approval` (never ran)."""
    output: Any = None
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class CodeSession:
    def __init__(
        self,
        gateway: Gateway | None,
        invoker: ToolInvoker,
        steps: StepExecutor,
        *,
        context: ToolContext,
        limits: RunLimits,
        model: str = "sophia/coding",
    ) -> None:
        self.gateway = gateway
        self.invoker = invoker
        self.steps = steps
        self.context = dataclasses.replace(context, agent=AGENT)
        self.limits = limits
        self.model_name = model
        self.caller = Caller(user_id=str(context.user_id) if context.user_id is not None else None)
        self.seq = 0
        self.cost_usd = 0.0
        self.models: list[str] = []
        self.records: list[StepRecord] = []

    def _next(self, *, spends: bool) -> int:
        if spends and self.cost_usd >= self.limits.max_cost_usd:
            raise CostLimitExceeded(
                f"the coding task spent ${self.cost_usd:.4f}, its limit is ${self.limits.max_cost_usd:.4f}"
            )
        if spends and self.seq >= self.limits.max_steps:
            raise StepLimitExceeded(f"the coding task reached its limit of {self.limits.max_steps} steps")
        self.seq += 1
        return self.seq

    async def _record(self, step: StepRecord) -> None:
        self.records.append(step)
        await self.steps.record(step)

    async def model(self, messages: list[dict[str, str]], *, purpose: str) -> ModelReply:
        """One gateway call as a checkpointed step; a replay returns the same answer."""
        gateway = self.gateway
        if gateway is None:
            raise SophiaError("this coding session has no gateway; it cannot ask a model")
        seq = self._next(spends=True)
        body = {"model": self.model_name, "messages": messages, "stream": False, "temperature": 0}

        async def call() -> dict[str, Any]:
            request_id = uuid.uuid4().hex
            try:
                response, outcome = await gateway.complete(body, self.caller, request_id)
            except SophiaError as error:
                return {"error": error.message}
            message = (response.get("choices") or [{}])[0].get("message") or {}
            return {
                "text": str(message.get("content") or ""),
                "model": outcome.model.name,
                "cost_usd": outcome.cost_usd,
                "input_tokens": outcome.input_tokens,
                "output_tokens": outcome.output_tokens,
                "request_id": request_id,
            }

        data = await self.steps.run_step(seq, f"model:{purpose}", call, once=False)
        if "error" in data:
            await self._record(StepRecord(seq, "model", "model", AGENT, "error", error=str(data["error"])))
            raise SophiaError(f"the model call failed: {data['error']}")
        cost = float(data["cost_usd"])
        self.cost_usd += cost
        self.models.append(str(data["model"]))
        detail = {"purpose": purpose, "text": redact_text(str(data["text"]))[:_SHOWN_CHARS]}
        await self._record(
            StepRecord(
                seq,
                "model",
                "model",
                AGENT,
                "ok",
                cost,
                str(data["model"]),
                int(data["input_tokens"]),
                int(data["output_tokens"]),
                detail,
            )  # fmt: skip
        )
        return ModelReply(str(data["text"]), str(data["model"]), cost, str(data.get("request_id") or ""))

    async def record_outcome(self, reply: ModelReply, score: float) -> None:
        """Tell the gateway how the answer did (1 = its edit passed the checks), so routing for the task learns
        which model solves it. A step run once: a replay never counts an outcome twice. A gateway without
        outcome learning (`record_outcome`) is left alone."""
        record = getattr(self.gateway, "record_outcome", None)
        if record is None or not reply.request_id:
            return

        async def send() -> dict[str, Any]:
            try:
                task, model = await record(reply.request_id, score, source="run")
            except SophiaError as error:
                return {"status": "error", "message": error.message}
            return {"status": "ok", "summary": f"{model} on {task}: {score:g}"}

        await self.local("gateway.outcome", send, once=True)

    async def local(self, name: str, function: StepFunction, *, once: bool = False) -> dict[str, Any]:
        """A step of the orchestrator's own (clone, diff, recall): checkpointed, shown with the run's steps."""
        seq = self._next(spends=False)
        data = await self.steps.run_step(seq, name, function, once=once)
        failed = data.get("status") == "error"
        detail = {"result": redact_text(str(data.get("summary") or data.get("message") or ""))[:_SHOWN_CHARS]}
        error = str(data.get("message")) if failed else None
        await self._record(
            StepRecord(seq, "tool", name, AGENT, "error" if failed else "ok", detail=detail, error=error)
        )
        return data

    async def tool(self, name: str, arguments: dict[str, Any], *, label: str | None = None) -> ToolOutcome:
        """A registry tool as a step; a write runs once even across a crash (the executor's `once` ledger)."""
        seq = self._next(spends=False)
        tool = self.invoker.registry.get(name)
        once = tool.effect is not SideEffect.READ
        step_name = f"tool:{name}" + (f":{label}" if label else "")

        async def call() -> dict[str, Any]:
            try:
                result = await self.invoker.invoke(name, arguments, self.context)
            except ApprovalRequired as pending:
                return {"status": "waiting_approval", "approval_id": pending.approval.id}
            except ToolError as error:
                return {"status": "error", "message": error.message}
            return {"status": "ok", "output": result.output}

        data = await self.steps.run_step(seq, step_name, call, once=once)
        if data.get("code") == "step_interrupted" and name in IDEMPOTENT:
            data = await self.steps.run_step(seq, f"{step_name}:again", call, once=once)
        if data["status"] == "waiting_approval":
            data = await self._after_approval(seq, name, step_name, str(data["approval_id"]))
        return await self._finish(seq, name, arguments, data)

    async def _after_approval(self, seq: int, name: str, step_name: str, approval_id: str) -> dict[str, Any]:
        await self._record(
            StepRecord(seq, "tool", name, AGENT, "waiting_approval", detail={"approval_id": approval_id})
        )

        async def check() -> str:
            return (await self.invoker.approval(approval_id)).status

        status = await self.steps.wait_for_decision(approval_id, check)
        if status == "denied":
            return {"status": "denied", "message": f"a person denied {name}"}
        if status != "approved":
            return {"status": "waiting_approval", "message": f"{name} waits for approval {approval_id}"}

        async def run_approved() -> dict[str, Any]:
            try:
                result = await self.invoker.invoke_approved(approval_id)
            except ToolError as error:
                return {"status": "error", "message": error.message}
            return {"status": "ok", "output": result.output}

        return await self.steps.run_step(seq, f"{step_name}:approved", run_approved, once=True)

    async def _finish(
        self, seq: int, name: str, arguments: dict[str, Any], data: dict[str, Any]
    ) -> ToolOutcome:
        if data.get("code") == "step_interrupted":  # the durable ledger: it may have run before a crash
            data = {"status": "error", "message": str(data.get("message"))}
        status = str(data["status"])
        detail = {
            "arguments": redact_text(str(arguments))[:_SHOWN_CHARS],
            "result": redact_text(str(data.get("output") or data.get("message") or ""))[:_SHOWN_CHARS],
        }
        error = str(data.get("message") or "") or None
        await self._record(StepRecord(seq, "tool", name, AGENT, status, detail=detail, error=error))
        return ToolOutcome(status, data.get("output"), str(data.get("message") or ""))
