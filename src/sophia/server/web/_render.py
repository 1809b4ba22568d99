"""Templates with autoescaping on, the filters they use, and the headers every page carries."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.responses import HTMLResponse, Response

import sophia
from sophia.server.web._guard import ANON_CSRF_COOKIE, anon_csrf_token
from sophia.server.web._markdown import render_markdown
from sophia.server.web._state import web_state

__all__ = ["SECURITY_HEADERS", "render", "secure_cookies", "templates"]

TEMPLATES_DIR = Path(__file__).parent / "templates"
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
}


def _money(value: float | None) -> str:
    value = float(value or 0.0)
    if value == 0:
        return "$0.00"
    return f"${value:,.2f}" if value >= 0.01 else f"${value:.6f}"


def _number(value: float | int | None) -> str:
    return f"{int(value or 0):,}"


def _when(value: datetime | None) -> str:
    if value is None:
        return "—"
    seconds = (datetime.now(UTC) - value).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    return value.strftime("%Y-%m-%d")


def _stamp(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "—"


templates = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.filters.update(money=_money, number=_number, when=_when, stamp=_stamp, markdown=render_markdown)
templates.globals.update(version=sophia.__version__, _money=_money, _number=_number)


def secure_cookies(request: Request) -> bool:
    forced = web_state(request).options.secure_cookies
    return forced if forced is not None else request.url.scheme == "https"


def render(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    """A page or fragment; pages shown before sign-in also carry the double-submit CSRF cookie."""
    session = getattr(request.state, "web_session", None)
    anon_token = None if session else anon_csrf_token(request)
    html = templates.get_template(template).render(
        request=request,
        me=session,
        csrf=session.csrf_token if session else anon_token,
        path=request.url.path,
        **context,
    )
    response = HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)
    if anon_token and request.cookies.get(ANON_CSRF_COOKIE) != anon_token:
        response.set_cookie(
            ANON_CSRF_COOKIE, anon_token, httponly=True, samesite="strict", secure=secure_cookies(request)
        )
    return response
