"""Per-key and per-user request limits on the model API, checked before the route runs (raw ASGI, no body read)."""

from __future__ import annotations

import hashlib

from starlette.types import ASGIApp, Receive, Scope, Send

from sophia.accounts import parse_prefix
from sophia.errors import AuthError
from sophia.server._auth import VERIFIED_PRINCIPAL, token_of
from sophia.server._errors import error_response
from sophia.server.web._limits import RateLimited
from sophia.server.web._state import WebState

__all__ = ["ApiRateLimitMiddleware"]

LIMITED_PREFIX = "/v1/"


class ApiRateLimitMiddleware:
    """A request over its key's or its user's limit gets 429 with Retry-After; unknown keys pass on to get 401.

    The key is read exactly as authentication reads it (`token_of`), and a principal found in the key cache here
    is handed on in the scope (`VERIFIED_PRINCIPAL`), so the route does not hash and look the key up again.
    """

    def __init__(self, app: ASGIApp, web: WebState) -> None:
        self.app = app
        self.web = web

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(LIMITED_PREFIX) and self.web.bound:
            try:
                await self._check(token_of(scope["headers"]), scope)
            except AuthError:
                pass  # no key: the route answers 401
            except RateLimited as error:
                response = error_response(
                    429,
                    error.message,
                    error.code,
                    headers={"Retry-After": str(max(1, round(error.retry_after)))},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _check(self, token: str, scope: Scope) -> None:
        options = self.web.options
        prefix = parse_prefix(token)
        if prefix is None:
            return
        await self.web.limiter.check("key", prefix, options.requests_per_minute_key)
        if options.requests_per_minute_user <= 0:
            return
        services = self.web.services
        digest = hashlib.sha256(token.encode()).digest()
        principal = services.key_cache.get(digest)
        if principal is None:
            try:
                principal = await services.accounts.verify_api_key(token)
            except AuthError:
                return
            services.key_cache.put(digest, principal)
        await self.web.limiter.check("user", str(principal.user_id), options.requests_per_minute_user)
        scope.setdefault("state", {})[VERIFIED_PRINCIPAL] = principal
