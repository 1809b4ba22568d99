"""Waiting for a person inside a live (undurable) turn: the web chat holds a tool call until it is decided.

`ApprovalWaits` keeps one event per held call in this process; deciding the call here wakes the turn at once,
and a decision made elsewhere (another replica, the CLI) is seen by the next poll. The turn's own time limit
bounds the wait.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from sophia.agents._model import StepRecord
from sophia.agents._steps import DirectSteps

__all__ = ["ApprovalWaits", "WaitingSteps"]


class ApprovalWaits:
    """`abandon(approval_id)` runs when a wait ends undecided (the turn was stopped, closed or timed out)."""

    def __init__(
        self,
        *,
        poll_seconds: float = 2.0,
        abandon: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self.poll_seconds = poll_seconds
        self.abandon = abandon
        self._events: dict[str, asyncio.Event] = {}

    def wake(self, approval_id: str) -> None:
        event = self._events.get(approval_id)
        if event is not None:
            event.set()

    def waiting(self, approval_id: str) -> bool:
        return approval_id in self._events

    async def wait(self, approval_id: str, check: Callable[[], Awaitable[str]]) -> str:
        """The decision ("approved" or "denied"), once a person has made it."""
        event = self._events.setdefault(approval_id, asyncio.Event())
        try:
            while True:
                status = await check()
                if status != "pending":
                    return status
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.poll_seconds):
                        await event.wait()
                event.clear()
        except asyncio.CancelledError:
            if self.abandon is not None:
                await asyncio.shield(self.abandon(approval_id))
            raise
        finally:
            self._events.pop(approval_id, None)


class WaitingSteps(DirectSteps):
    """Direct steps whose held tool calls wait for a decision (instead of telling the agent they pend)."""

    def __init__(
        self, waits: ApprovalWaits, observer: Callable[[StepRecord], Awaitable[None]] | None = None
    ) -> None:
        super().__init__(observer)
        self.waits = waits

    async def wait_for_decision(self, approval_id: str, check: Callable[[], Awaitable[str]]) -> str:
        return await self.waits.wait(approval_id, check)
