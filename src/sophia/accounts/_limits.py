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
    """Sign-in lockout that a stranger cannot turn against a known user.

    - per user and address: `user_failures` wrong passwords lock that name *from that address* for the lockout;
    - per address: `ip_failures` wrong passwords, whatever the names, lock the address;
    - per user, from anywhere: past `user_failures`, each further failure makes the name wait a little before the
      next try (doubling, at most `MAX_USER_BACKOFF_SECONDS`), which slows guessing from many addresses without
      letting anyone lock the owner out for the whole lockout.
    """

    MAX_USER_BACKOFF_SECONDS = 60.0

    def __init__(
        self, counters: CounterStore, user_failures: int, ip_failures: int, lockout_seconds: float
    ) -> None:
        self._counters = counters
        self._user_limit = user_failures
        self._ip_limit = ip_failures
        self._lockout = lockout_seconds

    async def check(self, user: str, ip: str) -> None:
        """Raise RateLimited while this name from this address, this address, or the name's backoff is locked."""
        name = user.lower()
        for key, limit in (
            (f"login:pair:{name}:{ip}", self._user_limit),
            (f"login:ip:{ip}", self._ip_limit),
            (f"login:wait:{name}", 1),
        ):
            count, ttl = await self._counters.get(key)
            if count >= limit:
                raise RateLimited(_locked_message(ttl), retry_after=ttl)

    async def failed(self, user: str, ip: str) -> None:
        name = user.lower()
        await self._counters.incr(f"login:pair:{name}:{ip}", self._lockout)
        await self._counters.incr(f"login:ip:{ip}", self._lockout)
        failures, _ = await self._counters.incr(f"login:user:{name}", self._lockout)
        beyond = failures - self._user_limit
        if beyond >= 0:
            wait = min(self.MAX_USER_BACKOFF_SECONDS, float(2 ** min(beyond, 16)), self._lockout)
            await self._counters.delete(f"login:wait:{name}")
            await self._counters.incr(f"login:wait:{name}", wait)

    async def succeeded(self, user: str, ip: str) -> None:
        name = user.lower()
        for key in (f"login:pair:{name}:{ip}", f"login:user:{name}", f"login:wait:{name}"):
            await self._counters.delete(key)


def _locked_message(seconds: float) -> str:
    if seconds < 60:
        return f"too many failed sign-ins; try again in {math.ceil(seconds)} second(s)"
    return f"too many failed sign-ins; try again in {math.ceil(seconds / 60)} minute(s)"
