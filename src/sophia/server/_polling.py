"""Events Sophia fetches itself: for a service that cannot reach Sophia's webhook (a laptop, a private network),
each connector that polls (Telegram with `options.poll_updates = true`) gets a task that long-polls its feed and
hands every event to the same handling as a signed webhook delivery."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from sophia.connectors import Connector, Connectors, ConnectorState, accept_event
from sophia.server._inbound import InboundEvents

__all__ = ["EventPollers"]

log = logging.getLogger("sophia.connectors")

_DEFAULT_WAIT_SECONDS = 25.0
_BACKOFF_SECONDS = (1.0, 60.0)
_EMPTY_POLL_PAUSE_SECONDS = 0.2


class EventPollers:
    """An async context: one polling task per connector whose `polls_events()` is true, stopped on exit."""

    def __init__(self, app: Any, connectors: Connectors) -> None:
        self.app = app
        self.connectors = connectors
        self.tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> EventPollers:
        for connector in self.connectors:
            if connector.polls_events():
                self.tasks.append(asyncio.create_task(self._poll(connector), name=f"poll {connector.name}"))
        return self

    async def __aexit__(self, *_: object) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.tasks.clear()

    async def _poll(self, connector: Connector) -> None:
        state = ConnectorState(self.app.state.services.database)
        inbound = InboundEvents(self.app)
        wait = float(connector.options.get("poll_wait_seconds", _DEFAULT_WAIT_SECONDS))
        after: str | None = None
        failures = 0
        while True:
            try:
                events, position = await connector.poll_events(after, wait)
                for event in events:  # kept once each: a redelivery after a failure starts nothing twice
                    accepted = await accept_event(self.connectors, state, connector.name, event)
                    await inbound.handle(self.connectors, connector.name, accepted)
                after, failures = position, 0
                if not events:  # a feed that answers an empty long poll at once must not spin the loop
                    await asyncio.sleep(_EMPTY_POLL_PAUSE_SECONDS)
            except asyncio.CancelledError:
                raise
            except (
                Exception
            ) as error:  # the feed is down or refused us: wait, then ask again from the same place
                failures += 1
                delay = min(_BACKOFF_SECONDS[0] * 2 ** min(failures - 1, 6), _BACKOFF_SECONDS[1])
                log.warning("polling %s failed (%s); retrying in %.0f s", connector.name, error, delay)
                await asyncio.sleep(delay)
