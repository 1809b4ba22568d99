"""What an agent is and what a run of it leaves behind: specs, limits, step records and results."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sophia.errors import SophiaError

__all__ = [
    "AgentError",
    "AgentResult",
    "AgentSpec",
    "CostLimitExceeded",
    "RunLimitExceeded",
    "RunLimits",
    "StepLimitExceeded",
    "StepRecord",
    "TimeLimitExceeded",
]


@dataclass(frozen=True, slots=True)
class AgentSpec:
    """An agent: its instructions, the registry tools it may call and the task type the gateway routes by.

    `model` overrides routing (a catalog name or `auto`); `delegates` names agents it may hand work to.
    """

    name: str
    instructions: str
    tools: tuple[str, ...] = ()
    task_type: str | None = None
    model: str = "auto"
    delegates: tuple[str, ...] = ()

    @property
    def requested_model(self) -> str:
        """What the gateway is asked for: an explicit model, else the task's route, else `auto`."""
        if self.model != "auto" or not self.task_type:
            return self.model
        return f"sophia/{self.task_type}"


@dataclass(frozen=True)
class RunLimits:
    """Per run bounds; whichever is hit first stops the run cleanly with a typed error."""

    max_steps: int = 30
    max_cost_usd: float = 1.0
    max_seconds: float = 600.0

    def to_record(self) -> dict[str, float]:
        return {
            "max_steps": self.max_steps,
            "max_cost_usd": self.max_cost_usd,
            "max_seconds": self.max_seconds,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any] | None) -> RunLimits:
        record = record or {}
        default = cls()
        return cls(
            max_steps=int(record.get("max_steps", default.max_steps)),
            max_cost_usd=float(record.get("max_cost_usd", default.max_cost_usd)),
            max_seconds=float(record.get("max_seconds", default.max_seconds)),
        )


@dataclass(slots=True)
class StepRecord:
    """One model call or tool call of a run, as people see it (tool text is already redacted and cut)."""

    seq: int
    kind: str  # "model" | "tool"
    name: str
    agent: str
    status: str  # "ok" | "error" | "waiting_approval" | "denied"
    cost_usd: float = 0.0
    model: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    detail: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    def to_record(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "kind": self.kind,
            "name": self.name,
            "agent": self.agent,
            "status": self.status,
            "cost_usd": self.cost_usd,
            "model": self.model,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "detail": self.detail,
            "error": self.error,
        }


@dataclass(slots=True)
class AgentResult:
    """The answer of a run plus everything it did; `errors` lists tool errors the agent recovered from."""

    agent: str
    output: str
    steps: list[StepRecord]
    cost_usd: float
    models: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def model(self) -> str | None:
        return self.models[-1] if self.models else None


class AgentError(SophiaError):
    """An agent run could not finish; the message says why and what to change."""

    code = "agent_error"
    http_status = 500


class RunLimitExceeded(AgentError):
    code = "run_limit_exceeded"
    http_status = 429


class StepLimitExceeded(RunLimitExceeded):
    code = "step_limit_exceeded"


class CostLimitExceeded(RunLimitExceeded):
    code = "cost_limit_exceeded"


class TimeLimitExceeded(RunLimitExceeded):
    code = "time_limit_exceeded"
