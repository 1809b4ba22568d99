"""When and how long to wait before trying the same deployment again."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Protocol

__all__ = ["RetryPolicy", "Retryable"]


class Retryable(Protocol):
    """What the policy needs of a failure: a provider's, or a connector's (both carry these two)."""

    @property
    def retryable(self) -> bool: ...

    @property
    def retry_after(self) -> float | None: ...


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with full jitter; a provider's Retry-After wins when it asks for longer (up to a cap)."""

    max_retries: int = 2
    base_delay: float = 0.25
    max_delay: float = 8.0
    max_retry_after: float = 20.0

    def should_retry(self, error: Retryable, attempt: int) -> bool:
        """`attempt` counts from 0 for the first try. Only retryable failures (429, 408, 409, 5xx, network)."""
        if not error.retryable or attempt >= self.max_retries:
            return False
        # A Retry-After longer than we are willing to wait: better to fall back to the next model now.
        return error.retry_after is None or error.retry_after <= self.max_retry_after

    def delay(self, error: Retryable, attempt: int, rng: random.Random | None = None) -> float:
        backoff = min(self.max_delay, self.base_delay * (2**attempt))
        jittered = (rng or random).uniform(0, backoff)
        if error.retry_after is not None:
            return max(jittered, min(error.retry_after, self.max_retry_after))
        return jittered
