"""Request budgets per key, per user and per address, and sign-in lockout, on one expiring counter store.

`KeyAdmission` is the one order every shell follows: verify the key first, then charge the request to the
verified key and its user; a request whose key is missing or wrong is charged to its client address. A key's
prefix is public (it is listed by `/keys`, `sophia keys list` and the audit log), so a budget keyed by it, or
counted before verification, would let anyone exhaust another person's budget with forged keys.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from sophia.accounts._models import Principal
from sophia.accounts._verifier import KeyVerifier
from sophia.config import McpHttpSettings, WebSettings
from sophia.errors import AuthError, SophiaError
from sophia.store import CounterStore

__all__ = ["Budget", "KeyAdmission", "KeyBudgets", "LoginThrottle", "RateLimited", "RateLimiter"]

_WINDOW_SECONDS = 60.0


class RateLimited(SophiaError):
    code = "rate_limited"
    http_status = 429

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Budget:
    """Requests a minute for one kind of caller (`key`, `user`, `address`, …); 0 turns it off.

    `setting` names the environment variable that raises it, for the refusal's message ("" for a fixed one).
    """

    kind: str
    per_minute: int
    setting: str = ""


class RateLimiter:
    """Fixed one-minute windows, one counter per budget kind and caller."""

    def __init__(self, counters: CounterStore) -> None:
        self._counters = counters

    async def check(self, budget: Budget, ident: str) -> None:
        if budget.per_minute <= 0:
            return
        count, ttl = await self._counters.incr(f"rl:{budget.kind}:{ident}", _WINDOW_SECONDS)
        if count > budget.per_minute:
            raise_it = f" or ask an admin to raise {budget.setting}" if budget.setting else ""
            raise RateLimited(
                f"more than {budget.per_minute} requests a minute for this {budget.kind}; wait "
                f"{math.ceil(ttl)} s{raise_it}",
                retry_after=ttl,
            )


@dataclass(frozen=True, slots=True)
class KeyBudgets:
    """What one surface (the API, MCP) allows: per verified key, per its user, and per address that fails.

    Both surfaces share the address budget, so a forger cannot double their tries by switching surface.
    """

    key: Budget
    user: Budget
    unauthenticated: Budget

    @classmethod
    def for_api(cls, web: WebSettings) -> KeyBudgets:
        return cls(
            key=Budget("key", web.requests_per_minute_key, "SOPHIA_WEB__REQUESTS_PER_MINUTE_KEY"),
            user=Budget("user", web.requests_per_minute_user, "SOPHIA_WEB__REQUESTS_PER_MINUTE_USER"),
            unauthenticated=_unauthenticated(web),
        )

    @classmethod
    def for_mcp(cls, mcp: McpHttpSettings, web: WebSettings) -> KeyBudgets:
        return cls(
            key=Budget("MCP key", mcp.requests_per_minute, "SOPHIA_MCP__REQUESTS_PER_MINUTE"),
            user=Budget("MCP user", 0),
            unauthenticated=_unauthenticated(web),
        )


def _unauthenticated(web: WebSettings) -> Budget:
    setting = "SOPHIA_WEB__REQUESTS_PER_MINUTE_UNAUTHENTICATED"
    return Budget("address", web.requests_per_minute_unauthenticated, setting)


class KeyAdmission:
    """Verifies the presented key, then charges the request; `AuthError` or `RateLimited` refuse it."""

    def __init__(self, verifier: KeyVerifier, limiter: RateLimiter) -> None:
        self.verifier = verifier
        self.limiter = limiter

    async def admit(
        self, headers: Iterable[tuple[bytes, bytes]], address: str, budgets: KeyBudgets
    ) -> Principal:
        try:
            principal = await self.verifier.verify_headers(headers)
        except AuthError:
            await self.limiter.check(budgets.unauthenticated, address)
            raise
        if principal.key_id is not None:
            await self.limiter.check(budgets.key, str(principal.key_id))
        await self.limiter.check(budgets.user, str(principal.user_id))
        return principal


class LoginThrottle:
    """Locks sign-in for a user name or an address after too many failures; a success clears the user's count."""

    def __init__(
        self, counters: CounterStore, user_failures: int, ip_failures: int, lockout_seconds: float
    ) -> None:
        self._counters = counters
        self._user_limit = user_failures
        self._ip_limit = ip_failures
        self._lockout = lockout_seconds

    async def check(self, user: str, ip: str) -> None:
        """Raise RateLimited while either the user or the address is locked out."""
        for key, limit in (
            (f"login:user:{user.lower()}", self._user_limit),
            (f"login:ip:{ip}", self._ip_limit),
        ):
            count, ttl = await self._counters.get(key)
            if count >= limit:
                raise RateLimited(
                    f"too many failed sign-ins; try again in {math.ceil(ttl / 60)} minute(s)", retry_after=ttl
                )

    async def failed(self, user: str, ip: str) -> None:
        await self._counters.incr(f"login:user:{user.lower()}", self._lockout)
        await self._counters.incr(f"login:ip:{ip}", self._lockout)

    async def succeeded(self, user: str) -> None:
        await self._counters.delete(f"login:user:{user.lower()}")
