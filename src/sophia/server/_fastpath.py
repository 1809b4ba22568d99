"""`POST /v1/chat/completions` as raw ASGI, dispatched before FastAPI's own layers.

On the hot path FastAPI's telemetry check, its exception and body-limit layers, routing and dependency solving cost
more CPU than proxying the request. `SophiaAPI` sends that one route through the app's user middleware (request
ids, rate limits, metrics: all still apply) straight to `ChatCompletionsEndpoint`. The FastAPI route stays for the
OpenAPI schema and serves the request whenever the hot path steps aside (OpenTelemetry on, a root path set).
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from fastapi import FastAPI
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from sophia.errors import SophiaError
from sophia.gateway import CacheMode
from sophia.observability import request_id_var
from sophia.server._auth import principal_of
from sophia.server._errors import error_response
from sophia.server._openai import (
    CHAT_PATH,
    caller_of,
    check_model_user,
    outcome_headers,
    parse_body,
    stream_response,
)
from sophia.server._openai import router as chat_router
from sophia.server._services import Services

_JSON = (b"content-type", b"application/json")
_TELEMETRY_RECHECK_SECONDS = 1.0


class ChatCompletionsEndpoint:
    """The chat-completions route without FastAPI: same auth, body checks, errors, headers and streaming."""

    def __init__(self, route: BaseRoute | None) -> None:
        self.route = route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["route"] = self.route  # metrics label requests by route template
        found: Services = scope["app"].state.services
        try:
            principal = await principal_of(found, scope)
            scope.setdefault("state", {})["principal"] = principal
            check_model_user(principal, "chat")
            raw = await _read_body(receive)
            if raw is None:
                return  # the client went away before sending its body
            body = parse_body(raw, found.settings.server.max_body_bytes)
            request_id = request_id_var.get() or ""
            cache = _cache_mode(scope) if found.gateway.cache is not None else CacheMode.USE
            if body.get("stream") is True:
                streamed = await stream_response(found.gateway, body, caller_of(principal), request_id, cache)
                response, outcome = None, None
            else:
                streamed = None
                response, outcome = await found.gateway.complete(
                    body, caller_of(principal), request_id, cache=cache
                )
        except SophiaError as error:
            await sophia_error_response(error)(scope, receive, send)
            return
        if streamed is not None or outcome is None:
            assert streamed is not None
            await streamed(scope, receive, send)
            return
        payload = orjson.dumps(response, option=orjson.OPT_NON_STR_KEYS)
        headers = [(k.encode(), v.encode()) for k, v in outcome_headers(outcome).items()]
        headers += [(b"content-length", str(len(payload)).encode()), _JSON]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": payload})


class SophiaAPI(FastAPI):
    """FastAPI with the chat-completions hot path dispatched first.

    The hot chain wraps the endpoint in the same user middleware (built from the same classes and arguments, so
    they share their state objects) and the same server-error handler as the full stack.
    """

    _hot: ASGIApp | None = None
    _telemetry_on = False
    _telemetry_checked_at = float("-inf")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["path"] == CHAT_PATH
            and scope["method"] == "POST"
            and not self.root_path
            and not self._telemetry_enabled()
        ):
            scope["app"] = self
            await (self._hot or self._build_hot())(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    def _telemetry_enabled(self) -> bool:
        """FastAPI's native OpenTelemetry spans need its full stack; the check reads the environment, so cache it."""
        now = time.monotonic()
        if now - self._telemetry_checked_at >= _TELEMETRY_RECHECK_SECONDS:
            native = getattr(self, "_native_telemetry", None)
            self._telemetry_on = bool(native is not None and native.enabled())
            self._telemetry_checked_at = now
        return self._telemetry_on

    def _build_hot(self) -> ASGIApp:
        route = next(
            (
                r
                for r in chat_router.routes
                if isinstance(r, Route) and r.path == CHAT_PATH and "POST" in (r.methods or ())
            ),
            None,
        )
        app: ASGIApp = ChatCompletionsEndpoint(route)
        for cls, args, kwargs in reversed(self.user_middleware):
            app = cls(app, *args, **kwargs)
        handler = self.exception_handlers.get(Exception) or self.exception_handlers.get(500)
        self._hot = ServerErrorMiddleware(app, handler=handler, debug=self.debug)
        return self._hot


def sophia_error_response(error: SophiaError) -> Any:
    """What the app's `SophiaError` handler renders: OpenAI's error shape, Retry-After, the 401 challenge."""
    headers: dict[str, str] = {}
    retry_after = getattr(error, "retry_after", None)
    if retry_after is not None:
        headers["Retry-After"] = str(max(1, round(retry_after)))
    if error.http_status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return error_response(error.http_status, error.message, error.code, headers=headers or None)


def _cache_mode(scope: Scope) -> CacheMode:
    for name, value in scope["headers"]:
        if name == b"cache-control":
            return CacheMode.from_header(value.decode("latin-1"))
    return CacheMode.USE


async def _read_body(receive: Receive) -> bytes | None:
    message = await receive()
    if message["type"] != "http.request":
        return None
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False):
        return body
    parts = [body]
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(parts)


__all__ = ["ChatCompletionsEndpoint", "SophiaAPI", "sophia_error_response"]
