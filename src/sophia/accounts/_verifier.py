"""The one check of a presented API key for every shell: read it from the headers, hash it, verify it once.

Verified keys are kept for a few seconds, so the hot path skips a database read (revocation lags by at most the
TTL), and concurrent misses of the same key share one database check.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable, Iterable

from sophia.accounts._models import Principal
from sophia.errors import AuthError

__all__ = ["MISSING_KEY", "KeyVerifier", "bearer_token"]

MISSING_KEY = "missing API key: send 'Authorization: Bearer <key>' (create one with `sophia keys create`)"

KeyCheck = Callable[[str], Awaitable[Principal]]
"""What proves a key against the database: `AccountService.verify_api_key`."""


def bearer_token(headers: Iterable[tuple[bytes, bytes]]) -> str:
    """The API key from `Authorization: Bearer` (preferred) or `X-API-Key`, read from raw ASGI headers."""
    authorization = alt = None
    for name, value in headers:
        if name == b"authorization" and authorization is None:
            authorization = value
        elif name == b"x-api-key" and alt is None:
            alt = value
    if authorization is not None:
        scheme, _, token = authorization.decode("latin-1").partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    if alt is not None and alt.strip():
        return alt.decode("latin-1").strip()
    raise AuthError(MISSING_KEY)


class KeyVerifier:
    """`verify(token)` is the principal behind a key, or `AuthError`; failures are never cached."""

    def __init__(self, check: KeyCheck, ttl: float, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self._check = check
        self._max = max_entries
        self._entries: dict[bytes, tuple[Principal, float]] = {}
        self._inflight: dict[bytes, asyncio.Future[Principal]] = {}

    async def verify(self, token: str) -> Principal:
        """The cached principal, or one shared check for every concurrent miss of the same key.

        Without the sharing, every request in flight when an entry expires runs its own database check at once.
        """
        digest = hashlib.sha256(token.encode()).digest()
        principal = self._cached(digest)
        if principal is not None:
            return principal
        pending = self._inflight.get(digest)
        if pending is None:
            pending = asyncio.ensure_future(self._checked(digest, token))
            self._inflight[digest] = pending
            pending.add_done_callback(lambda done: self._settled(digest, done))
        return await asyncio.shield(pending)

    async def verify_headers(self, headers: Iterable[tuple[bytes, bytes]]) -> Principal:
        """Who sent these ASGI headers; `AuthError` when the key is missing, unknown, revoked or expired."""
        return await self.verify(bearer_token(headers))

    def clear(self) -> None:
        """Forget every verified key, so a change of role or status applies to the next request."""
        self._entries.clear()

    def _cached(self, digest: bytes) -> Principal | None:
        found = self._entries.get(digest)
        if found is None:
            return None
        if found[1] < time.monotonic():
            del self._entries[digest]
            return None
        return found[0]

    async def _checked(self, digest: bytes, token: str) -> Principal:
        principal = await self._check(token)
        if self.ttl > 0:
            if len(self._entries) >= self._max:
                self._entries.clear()
            self._entries[digest] = (principal, time.monotonic() + self.ttl)
        return principal

    def _settled(self, digest: bytes, done: asyncio.Future[Principal]) -> None:
        if self._inflight.get(digest) is done:
            del self._inflight[digest]
        if not done.cancelled():
            done.exception()  # retrieved here, so a check whose waiters all left never warns
