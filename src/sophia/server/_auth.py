"""Bearer API-key authentication shared by every non-public route, with a short verification cache."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Annotated, Any

from fastapi import Depends, Request

from sophia.accounts import Principal, Role
from sophia.errors import AuthError, PermissionDenied
from sophia.server._services import Services

# Scope-state key under which a middleware that already verified this request's key (through the key cache or
# the database) leaves the principal, so the route skips hashing and looking the key up a second time.
VERIFIED_PRINCIPAL = "sophia.verified_principal"
MISSING_KEY = "missing API key: send 'Authorization: Bearer <key>' (create one with `sophia keys create`)"


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


def _bearer_token(request: Request) -> str:
    return token_of(request.scope["headers"])


def token_of(headers: Iterable[tuple[bytes, bytes]]) -> str:
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


class KeyCache:
    """Verified keys for a few seconds, so the hot path skips a database read; revocation lags by at most `ttl`."""

    def __init__(self, ttl: float, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self._max = max_entries
        self._entries: dict[bytes, tuple[Principal, float]] = {}
        self._inflight: dict[bytes, asyncio.Future[Principal]] = {}

    def get(self, digest: bytes) -> Principal | None:
        found = self._entries.get(digest)
        if found is None:
            return None
        if found[1] < time.monotonic():
            del self._entries[digest]
            return None
        return found[0]

    def put(self, digest: bytes, principal: Principal) -> None:
        if self.ttl <= 0:
            return
        if len(self._entries) >= self._max:
            self._entries.clear()
        self._entries[digest] = (principal, time.monotonic() + self.ttl)

    def clear(self) -> None:
        self._entries.clear()

    async def verify(self, digest: bytes, check: Callable[[], Awaitable[Principal]]) -> Principal:
        """The cached principal, or one shared `check` for every concurrent miss of the same key.

        Without this, every request in flight when an entry expires runs its own database check at once.
        """
        principal = self.get(digest)
        if principal is not None:
            return principal
        pending = self._inflight.get(digest)
        if pending is None:
            pending = asyncio.ensure_future(self._checked(digest, check))
            self._inflight[digest] = pending
            pending.add_done_callback(lambda done: self._settled(digest, done))
        return await asyncio.shield(pending)

    async def _checked(self, digest: bytes, check: Callable[[], Awaitable[Principal]]) -> Principal:
        principal = await check()
        self.put(digest, principal)
        return principal

    def _settled(self, digest: bytes, done: asyncio.Future[Principal]) -> None:
        if self._inflight.get(digest) is done:
            del self._inflight[digest]
        if not done.cancelled():
            done.exception()  # retrieved here, so a check whose waiters all left never warns


async def principal_of(found: Services, headers: Iterable[tuple[bytes, bytes]]) -> Principal:
    """Who sent these ASGI headers; `AuthError` when the key is missing, unknown, revoked or expired."""
    token = token_of(headers)
    digest = hashlib.sha256(token.encode()).digest()
    return await found.key_cache.verify(digest, lambda: found.accounts.verify_api_key(token))


async def authenticate(request: Request) -> Principal:
    principal = await principal_of(services(request), request.scope["headers"])
    request.state.principal = principal
    return principal


def require_role(*roles: Role) -> Any:
    async def check(request: Request) -> Principal:
        principal = await authenticate(request)
        if principal.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise PermissionDenied(
                f"this needs one of the roles: {allowed}; your role is {principal.role.value}"
            )
        return principal

    return Depends(check)


def require_scope(principal: Principal, scope: str) -> None:
    if not principal.allows(scope):
        raise PermissionDenied(f"this API key lacks the scope '{scope}'; create a key with --scope {scope}")


CurrentPrincipal = Annotated[Principal, Depends(authenticate)]
USERS_OF_MODELS = (Role.ADMIN, Role.MEMBER)
