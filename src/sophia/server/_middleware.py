"""ASGI middleware kept raw (no BaseHTTPMiddleware) so it costs microseconds and works with streaming."""

from __future__ import annotations

import logging
import os
import random
import re
import time
from collections.abc import Callable, Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sophia.observability import request_id_var
from sophia.server._errors import internal_error_response

log = logging.getLogger("sophia.access")
error_log = logging.getLogger("sophia.server")
_SAFE_ID = re.compile(rb"^[A-Za-z0-9._\-]{1,64}$")


# Request ids name a request in logs and the ledger, whose primary key they are; they are not secrets.
# - Time first (milliseconds, 12 hex digits): the ledger's primary-key index then grows at its end instead of
#   splitting pages all over a random-keyed B-tree, which made each SQLite insert several times dearer.
# - Then 64 random bits, from a generator seeded by the OS once and again in every forked child: `secrets` cost a
#   getrandom system call per request (7 % of the gateway's CPU under load in a profile).
_ids = random.Random()
os.register_at_fork(after_in_child=_ids.seed)


def new_request_id() -> str:
    return f"req_{time.time_ns() // 1_000_000:012x}{_ids.getrandbits(64):016x}"


RequestObserver = Callable[[str, str, int, float], None]
"""Told of every finished HTTP request: method, route template ("unmatched" when none), status, seconds."""


class RequestIdMiddleware:
    """Gives every request an id (the caller's X-Request-ID when it is sane), echoes it, logs one access line and
    tells the observers (metrics) how it ended, all from one wrapper: each middleware layer costs the hot path a
    coroutine and a `send` closure per request."""

    def __init__(self, app: ASGIApp, observers: Sequence[RequestObserver] = ()) -> None:
        self.app = app
        self.observers = observers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = next((v for k, v in scope["headers"] if k == b"x-request-id"), None)
        request_id = incoming.decode() if incoming and _SAFE_ID.match(incoming) else new_request_id()
        token = request_id_var.set(request_id)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500  # what the server answers when the app fails before it starts a response

        started_response = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started_response
            if message["type"] == "http.response.start":
                status = message["status"]
                started_response = True
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # Answered here, inside the request id, so the 500 names it and the connection stays usable.
            if scope["type"] != "http" or started_response:
                raise
            error_log.exception("unhandled error on %s %s", scope["method"], scope["path"])
            await internal_error_response()(scope, receive, send_with_id)
        finally:
            if scope["type"] == "http":
                seconds = time.perf_counter() - started
                if self.observers:
                    route = getattr(scope.get("route"), "path", None) or "unmatched"
                    for observe in self.observers:
                        observe(scope["method"], route, status, seconds)
                if log.isEnabledFor(logging.INFO):
                    log.info(
                        "%s %s %s",
                        scope["method"],
                        scope["path"],
                        status,
                        extra={"status": status, "duration_ms": round(seconds * 1000, 2)},
                    )
            request_id_var.reset(token)
