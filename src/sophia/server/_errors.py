"""One JSON error shape for every error, a superset of OpenAI's.

`{"error": {"message", "type", "code", "param", "request_id"}}`
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from sophia.config import format_location
from sophia.errors import SophiaError
from sophia.observability import redactor, request_id_var
from sophia.server._json import JsonResponse

log = logging.getLogger("sophia.server")

_TYPE_BY_STATUS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    409: "conflict_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}


def error_body(status: int, message: str, code: str, param: str | None = None) -> dict[str, Any]:
    return {
        "error": {
            "message": redactor.redact(message),
            "type": _TYPE_BY_STATUS.get(status, "server_error" if status >= 500 else "invalid_request_error"),
            "code": code,
            "param": param,
            "request_id": request_id_var.get(),
        }
    }


def error_response(
    status: int, message: str, code: str, param: str | None = None, headers: dict[str, str] | None = None
) -> JsonResponse:
    return JsonResponse(error_body(status, message, code, param), status_code=status, headers=headers)


async def _sophia_error(request: Request, exc: Exception) -> JsonResponse:
    assert isinstance(exc, SophiaError)
    headers = None
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        headers = {"Retry-After": str(max(1, round(retry_after)))}
    if exc.http_status == 401:
        headers = {**(headers or {}), "WWW-Authenticate": "Bearer"}
    return error_response(exc.http_status, exc.message, exc.code, headers=headers)


def _flat_routes(routes: list[Any]) -> list[Any]:
    flat: list[Any] = []
    for route in routes:
        included = getattr(route, "original_router", None)  # FastAPI's wrapper around an included router
        flat.extend(_flat_routes(included.routes) if included is not None else [route])
    return flat


def _allowed_methods(request: Request) -> str:
    """The methods of the path template that answered (Starlette names only one route's, not the template's)."""
    scope = {**request.scope, "method": "__none__"}
    routes = _flat_routes(request.app.routes)
    template = next(
        (r.path for r in routes if r.matches(scope)[0] is Match.PARTIAL and hasattr(r, "path")), None
    )
    methods: set[str] = set()
    for route in routes:
        if getattr(route, "path", None) == template:
            methods |= getattr(route, "methods", None) or set()
    return ", ".join(sorted(methods))


async def _http_error(request: Request, exc: Exception) -> JsonResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    headers = dict(getattr(exc, "headers", None) or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request) or headers.get("Allow", "")
    return error_response(exc.status_code, str(exc.detail), code, headers=headers or None)


async def _validation_error(request: Request, exc: Exception) -> JsonResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
    loc = [part for part in first.get("loc", ()) if part not in ("body", "query", "path", "header")]
    where = format_location(loc) if loc else None
    message = f"{where}: {first['msg']}" if where else str(first["msg"])
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more problem(s))"
    return error_response(422, message, "invalid_input", param=where)


def internal_error_response() -> JsonResponse:
    return error_response(500, "internal error; the request id names it in the server log", "internal_error")


async def _unexpected_error(request: Request, exc: Exception) -> JsonResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return internal_error_response()


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(SophiaError, _sophia_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected_error)
