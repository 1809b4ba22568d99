"""Run kinds beyond the agent ones: a package above `runs` (the coding orchestrator) plugs its executor in here.

`runs` knows nothing of what a kind does: the shell that builds the worker's `RunRuntime` passes the
executors, and the workflow hands such a run its durable steps and lets the executor drive them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sophia.agents import RunLimits, StepExecutor
from sophia.tools import ToolContext

__all__ = ["KindCall", "KindOutcome", "RunKind"]


@dataclass(frozen=True, slots=True)
class KindCall:
    run_id: str
    task: str
    options: dict[str, Any]
    limits: RunLimits
    context: ToolContext
    steps: StepExecutor


@dataclass(frozen=True, slots=True)
class KindOutcome:
    status: str
    """`succeeded` or `failed`."""
    output: str
    cost_usd: float = 0.0
    error: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


RunKind = Callable[[KindCall], Awaitable[KindOutcome]]
