"""How a runner executes its steps: directly in process, or checkpointed by the durable runs layer.

Every model call and tool call goes through a `StepExecutor`, so the same agent code runs undurable (chat,
tests) and durable (`sophia.runs`, where each step is a DBOS step and a finished step is never repeated).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from sophia.agents._model import StepRecord

__all__ = ["DirectSteps", "StepExecutor", "StepFunction"]

StepFunction = Callable[[], Awaitable[dict[str, Any]]]
"""A step's body: returns plain JSON data, which is what a durable executor checkpoints."""


class StepExecutor(Protocol):
    async def run_step(self, seq: int, name: str, function: StepFunction, *, once: bool) -> dict[str, Any]:
        """Run `function` as step `seq`. `once` marks side effects that must not happen twice (writes)."""
        ...

    async def wait_for_decision(self, approval_id: str, check: Callable[[], Awaitable[str]]) -> str:
        """Wait until a person decides `approval_id`; return its status ("pending" when not waiting)."""
        ...

    async def record(self, step: StepRecord) -> None:
        """Called after every step, to persist or display it."""
        ...


class DirectSteps:
    """Runs each step at once and keeps nothing; approvals are not waited for (the agent is told they pend)."""

    def __init__(self, observer: Callable[[StepRecord], Awaitable[None]] | None = None) -> None:
        self._observer = observer

    async def run_step(self, seq: int, name: str, function: StepFunction, *, once: bool) -> dict[str, Any]:
        return await function()

    async def wait_for_decision(self, approval_id: str, check: Callable[[], Awaitable[str]]) -> str:
        return await check()

    async def record(self, step: StepRecord) -> None:
        if self._observer is not None:
            await self._observer(step)
