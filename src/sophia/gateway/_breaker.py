"""Circuit breakers per deployment, so an outage costs one probe per cool-down instead of every request's attempts."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

Transition = Callable[[str, "BreakerState", float], None]
"""Called with (deployment, new state, cool-down seconds) when a breaker opens or closes on its own evidence."""


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(slots=True)
class CircuitBreaker:
    """Opens after `failure_threshold` consecutive failures; after `cooldown` lets one probe through (half-open).

    A successful probe closes it; a failed probe opens it again with the cool-down doubled (capped).
    """

    failure_threshold: int = 5
    cooldown: float = 30.0
    max_cooldown: float = 300.0
    clock: Callable[[], float] = time.monotonic
    state: BreakerState = BreakerState.CLOSED
    consecutive_failures: int = 0
    opened_at: float = 0.0
    current_cooldown: float = field(default=0.0)
    _probe_in_flight: bool = False
    name: str = ""
    on_transition: Transition | None = None

    def allow(self) -> bool:
        """May a request go to this deployment now? In half-open, only one probe at a time."""
        if self.state is BreakerState.CLOSED:
            return True
        if self.state is BreakerState.OPEN:
            if self.clock() - self.opened_at < (self.current_cooldown or self.cooldown):
                return False
            self.state = BreakerState.HALF_OPEN
            self._probe_in_flight = False
        if self._probe_in_flight:
            return False
        self._probe_in_flight = True
        return True

    def record_success(self) -> None:
        if self.state is not BreakerState.CLOSED and self.on_transition is not None:
            self.on_transition(self.name, BreakerState.CLOSED, 0.0)
        self.state = BreakerState.CLOSED
        self.consecutive_failures = 0
        self.current_cooldown = 0.0
        self._probe_in_flight = False

    def record_failure(self) -> None:
        self.consecutive_failures += 1
        if self.state is BreakerState.HALF_OPEN:
            self._open(min(self.max_cooldown, (self.current_cooldown or self.cooldown) * 2))
        elif self.consecutive_failures >= self.failure_threshold:
            self._open(self.cooldown)

    def release_probe(self) -> None:
        """A probe that ended without a verdict (client went away, non-retryable 4xx) frees the slot."""
        self._probe_in_flight = False

    def seconds_until_probe(self) -> float:
        if self.state is not BreakerState.OPEN:
            return 0.0
        return max(0.0, (self.current_cooldown or self.cooldown) - (self.clock() - self.opened_at))

    def apply(self, state: BreakerState, cooldown: float) -> None:
        """Take another replica's verdict: open for `cooldown` seconds from now, or closed."""
        if state is BreakerState.OPEN:
            self.state = BreakerState.OPEN
            self.opened_at = self.clock()
            self.current_cooldown = cooldown
            self._probe_in_flight = False
        else:
            self.state = BreakerState.CLOSED
            self.consecutive_failures = 0
            self.current_cooldown = 0.0
            self._probe_in_flight = False

    def _open(self, cooldown: float) -> None:
        self.state = BreakerState.OPEN
        self.opened_at = self.clock()
        self.current_cooldown = cooldown
        self._probe_in_flight = False
        if self.on_transition is not None:
            self.on_transition(self.name, BreakerState.OPEN, cooldown)


class BreakerBoard:
    """All breakers of the process, one per deployment name, created on first use."""

    def __init__(
        self, failure_threshold: int = 5, cooldown: float = 30.0, clock: Callable[[], float] = time.monotonic
    ):
        self._threshold = failure_threshold
        self._cooldown = cooldown
        self._clock = clock
        self._breakers: dict[str, CircuitBreaker] = {}
        self.on_transition: Transition | None = None
        """Set by `BreakerSync` so replicas hear of each other's breakers opening and closing."""

    def get(self, deployment: str) -> CircuitBreaker:
        breaker = self._breakers.get(deployment)
        if breaker is None:
            breaker = CircuitBreaker(
                self._threshold, self._cooldown, clock=self._clock, name=deployment, on_transition=self._relay
            )
            self._breakers[deployment] = breaker
        return breaker

    def _relay(self, deployment: str, state: BreakerState, cooldown: float) -> None:
        if self.on_transition is not None:
            self.on_transition(deployment, state, cooldown)

    def states(self) -> dict[str, BreakerState]:
        return {name: b.state for name, b in self._breakers.items()}
