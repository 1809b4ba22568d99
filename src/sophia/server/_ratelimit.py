"""Per-key, per-user and per-address request limits on the model API, checked before the route (raw ASGI)."""

from __future__ import annotations

from typing import Protocol

from starlette.types import ASGIApp, Receive, Scope, Send

from sophia.accounts import KeyBudgets, RateLimited
from sophia.config import WebSettings
from sophia.errors import AuthError
from sophia.server._anthropic import MESSAGES_PATH, anthropic_error_response
from sophia.server._auth import VERIFIED_PRINCIPAL, is_public_path
from sophia.server._errors import error_response
from sophia.server._services import Services


class AdmissionSource(Protocol):
    """Where the limits and the services come from once the app started: the dashboard's `WebState`, or the
    gateway-only app's `GatewayState`."""

    @property
    def bound(self) -> bool: ...

    @property
    def services(self) -> Services: ...

    @property
    def options(self) -> WebSettings: ...


__all__ = ["AdmissionSource", "ApiRateLimitMiddleware", "client_address"]

LIMITED_PREFIX = "/v1/"


def client_address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class ApiRateLimitMiddleware:
    """Verifies the key of every `/v1/` request once, then charges it (`KeyAdmission`); over a budget it is 429.

    The verdict, principal or `AuthError`, is handed on in the scope (`VERIFIED_PRINCIPAL`), so the route neither
    hashes nor looks the key up again, and a wrong key still gets the route's own 401.
    """

    def __init__(self, app: ASGIApp, web: AdmissionSource) -> None:
        self.app = app
        self.web = web
        self.budgets = KeyBudgets.for_api(web.options)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"] if scope["type"] == "http" else ""
        if path.startswith(LIMITED_PREFIX) and self.web.bound and not is_public_path(path):
            state = scope.setdefault("state", {})
            try:
                state[VERIFIED_PRINCIPAL] = await self.web.services.admission.admit(
                    scope["headers"], client_address(scope), self.budgets
                )
            except AuthError as error:
                state[VERIFIED_PRINCIPAL] = error
            except RateLimited as error:
                await _refusal(scope["path"], error)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _refusal(path: str, error: RateLimited) -> ASGIApp:
    """429 in the route's own error shape: Anthropic's on `/v1/messages`, Sophia's (OpenAI's) elsewhere."""
    if path == MESSAGES_PATH:
        return anthropic_error_response(429, error.message, error.retry_after)
    headers = {"Retry-After": str(max(1, round(error.retry_after)))}
    return error_response(429, error.message, error.code, headers=headers)
