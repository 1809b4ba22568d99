"""Who is behind a browser request: the session cookie, role checks, and CSRF tokens on every state change."""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from fastapi import Depends, Request

from sophia.accounts import Role
from sophia.errors import AuthError, PermissionDenied
from sophia.server.web._sessions import WebSession
from sophia.server.web._state import web_state

__all__ = [
    "ANON_CSRF_COOKIE",
    "ANYONE",
    "CSRF_HEADER",
    "MODEL_USERS",
    "SESSION_COOKIE",
    "CsrfRefused",
    "NotSignedIn",
    "anon_csrf_token",
    "check_anon_csrf",
    "client_ip",
    "session_of",
    "signed_in",
]

SESSION_COOKIE = "sophia_session"
ANON_CSRF_COOKIE = "sophia_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
ANYONE = (Role.ADMIN, Role.MEMBER, Role.VIEWER)
MODEL_USERS = (Role.ADMIN, Role.MEMBER)


class NotSignedIn(AuthError):
    code = "not_signed_in"


class CsrfRefused(PermissionDenied):
    code = "csrf_refused"


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def session_of(request: Request) -> WebSession | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    return await web_state(request).sessions.lookup(token)


async def _presented_csrf(request: Request) -> str:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    if request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/")
    ):
        value = (await request.form()).get(CSRF_FIELD)
        return value if isinstance(value, str) else ""
    return ""


def _same(a: str, b: str) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(a.encode(), b.encode())


def signed_in(*roles: Role) -> Any:
    """A dependency: the signed-in user with one of `roles`; on unsafe methods the CSRF token must match too."""
    allowed = roles or ANYONE

    async def check(request: Request) -> WebSession:
        session = await session_of(request)
        if session is None:
            raise NotSignedIn("you are not signed in; sign in at /login")
        request.state.web_session = session
        if request.method not in ("GET", "HEAD", "OPTIONS") and not _same(
            await _presented_csrf(request), session.csrf_token
        ):
            raise CsrfRefused("the form's security token is missing or stale; reload the page and try again")
        if session.role not in allowed:
            names = ", ".join(r.value for r in allowed)
            raise PermissionDenied(
                f"this page needs one of the roles: {names}; your role is {session.role.value}"
            )
        return session

    return Depends(check)


def anon_csrf_token(request: Request) -> str:
    """The double-submit token for forms shown before sign-in (set-up, sign-in, sign-up)."""
    return request.cookies.get(ANON_CSRF_COOKIE) or secrets.token_urlsafe(24)


async def check_anon_csrf(request: Request) -> None:
    if not _same(await _presented_csrf(request), request.cookies.get(ANON_CSRF_COOKIE, "")):
        raise CsrfRefused("the form's security token is missing or stale; reload the page and try again")
