"""Bearer API-key authentication shared by every non-public route, with a short verification cache."""

from __future__ import annotations

import hashlib
import time
from typing import Annotated, Any

from fastapi import Depends, Request

from sophia.accounts import Principal, Role
from sophia.errors import AuthError, PermissionDenied
from sophia.server._services import Services

MISSING_KEY = "missing API key: send 'Authorization: Bearer <key>' (create one with `sophia keys create`)"


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


def _bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    alt = request.headers.get("x-api-key", "").strip()
    if alt:
        return alt
    raise AuthError(MISSING_KEY)


class KeyCache:
    """Verified keys for a few seconds, so the hot path skips a database read; revocation lags by at most `ttl`."""

    def __init__(self, ttl: float, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self._max = max_entries
        self._entries: dict[bytes, tuple[Principal, float]] = {}

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


async def authenticate(request: Request) -> Principal:
    token = _bearer_token(request)
    found = services(request)
    digest = hashlib.sha256(token.encode()).digest()
    principal = found.key_cache.get(digest)
    if principal is None:
        principal = await found.accounts.verify_api_key(token)
        found.key_cache.put(digest, principal)
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
