"""What the three stand-in services share: request counting, a throttle now and then, tokens that expire."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Faults", "Traffic", "page_of"]


@dataclass
class Traffic:
    """What a stand-in saw: counts, plus every write as (method, path, body) for assertions."""

    requests: int = 0
    throttled: int = 0
    tokens_issued: int = 0
    expired: int = 0
    writes: list[tuple[str, str, Any]] = field(default_factory=list)


@dataclass
class Faults:
    """`throttle_every`: every Nth request is refused with the service's rate-limit answer (None: never);
    `token_uses`: an issued access token is refused (expired) after this many requests (None: never)."""

    throttle_every: int | None = 13
    token_uses: int | None = 40
    traffic: Traffic = field(default_factory=Traffic)
    _uses: dict[str, int] = field(default_factory=dict)
    _serial: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def throttle(self) -> bool:
        """Count a request; True when this one is to be refused as rate-limited."""
        self.traffic.requests += 1
        if self.throttle_every and self.traffic.requests % self.throttle_every == 0:
            self.traffic.throttled += 1
            return True
        return False

    def issue(self, prefix: str) -> str:
        token = f"{prefix}-{next(self._serial)}"
        self._uses[token] = 0
        self.traffic.tokens_issued += 1
        return token

    def accept(self, token: str, static: str | None = None) -> bool:
        """An issued token still within its uses, or the static token (never expires)."""
        if static is not None and token == static:
            return True
        if token not in self._uses:
            return False
        self._uses[token] += 1
        if self.token_uses is not None and self._uses[token] > self.token_uses:
            self.traffic.expired += 1
            return False
        return True


def page_of(items: list[Any], offset: str | None, size: int) -> tuple[list[Any], str | None]:
    """One page from an opaque offset; the next offset or None at the end."""
    start = int(offset or 0)
    chunk = items[start : start + size]
    return chunk, (str(start + size) if start + size < len(items) else None)
