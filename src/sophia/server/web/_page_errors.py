"""Errors on dashboard routes as pages (or HTMX fragments); every other route keeps the one JSON error shape."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import cast
from urllib.parse import quote

from fastapi import FastAPI, Request
from starlette.responses import RedirectResponse, Response

from sophia.errors import AuthError, SophiaError
from sophia.server.web._render import render

Handler = Callable[[Request, Exception], Awaitable[Response]]


def _is_page(request: Request) -> bool:
    return "web" in (getattr(request.scope.get("route"), "tags", None) or ())


def _page_error_handler(fallback: Handler) -> Handler:
    async def handle(request: Request, exc: Exception) -> Response:
        if not isinstance(exc, SophiaError) or not _is_page(request):
            return await fallback(request, exc)
        htmx = request.headers.get("hx-request") == "true"
        if isinstance(exc, AuthError):
            target = "/login?next=" + quote(request.url.path)
            if htmx:
                return Response(status_code=401, headers={"hx-redirect": target})
            if request.method == "GET":
                return RedirectResponse(target, status_code=303)
        if htmx:
            response = render(request, "_flash.html", status=exc.http_status, error=exc.message)
            response.headers.update({"hx-retarget": "#flash", "hx-reswap": "innerHTML"})
            return response
        return render(
            request, "error.html", status=exc.http_status, error=exc.message, status_code=exc.http_status
        )

    return handle


def install_page_errors(app: FastAPI) -> None:
    fallback = app.exception_handlers.get(SophiaError)
    if fallback is None:
        raise RuntimeError("install_web(app) needs an app from sophia.server.create_app")
    app.add_exception_handler(SophiaError, _page_error_handler(cast(Handler, fallback)))
