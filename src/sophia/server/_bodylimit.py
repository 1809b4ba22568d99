"""Request-body limits per route, enforced before anything reads the body (raw ASGI).

A declared `Content-Length` over the route's limit is answered 413 at once; a chunked body is read here up to the
limit and no further, then replayed to the route. On `/v1/` a request whose key the rate-limit layer already found
wrong is answered 401 before a byte of its body is read, so no unauthenticated body is ever buffered.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sophia.errors import AuthError
from sophia.server._anthropic import MESSAGES_PATH, anthropic_error_response
from sophia.server._auth import VERIFIED_PRINCIPAL
from sophia.server._errors import error_response

__all__ = ["BodyLimitMiddleware", "BodyLimits"]

MODEL_API_PATHS = frozenset({"/v1/chat/completions", "/v1/embeddings", MESSAGES_PATH})
_BODILESS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})


@dataclass(frozen=True, slots=True)
class BodyLimits:
    """`model_api` for chat completions, messages and embeddings (prompts can be long), `default` elsewhere."""

    model_api: int
    default: int

    def for_path(self, path: str) -> int:
        return self.model_api if path in MODEL_API_PATHS else self.default


def _refusal(path: str, status: int, message: str, code: str, headers: dict[str, str]) -> ASGIApp:
    """The route's own error shape: Anthropic's on `/v1/messages`, Sophia's (OpenAI's) elsewhere."""
    if path == MESSAGES_PATH:
        response = anthropic_error_response(status, message)
        response.headers.update(headers)
        return response
    return error_response(status, message, code, headers=headers)


def _too_large(path: str, limit: int, size: int | None) -> ASGIApp:
    said = f"{size} bytes" if size is not None else "over the limit"
    message = (
        f"the request body is {said}; this route takes at most {limit} bytes "
        "(server.max_body_bytes for the model API, server.max_request_bytes elsewhere)"
    )
    return _refusal(path, 413, message, "body_too_large", {"Connection": "close"})


def _content_length(scope: Scope) -> int | None | str:
    """The declared length, None when absent, or 'invalid'."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else "invalid"
    return None


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, limits: BodyLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in _BODILESS:
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        limit = self.limits.for_path(path)
        declared = _content_length(scope)
        if declared == "invalid":
            message = "the Content-Length header is not a number"
            await _refusal(path, 400, message, "invalid_input", {})(scope, receive, send)
            return
        if isinstance(declared, int) and declared > limit:
            await _too_large(path, limit, declared)(scope, receive, send)
            return
        verdict = scope.get("state", {}).get(VERIFIED_PRINCIPAL)
        if isinstance(verdict, AuthError):
            challenge = {"WWW-Authenticate": "Bearer", "Connection": "close"}
            await _refusal(path, 401, verdict.message, verdict.code, challenge)(scope, receive, send)
            return
        if declared is None:  # chunked: read it here, no further than the limit
            body = await _read_within(receive, limit)
            if body is None:
                await _too_large(path, limit, None)(scope, receive, send)
                return
            receive = _replay(body, receive)
        await self.app(scope, receive, send)


async def _read_within(receive: Receive, limit: int) -> Message | None:
    """The whole body as one message, or None once it passes `limit` (the rest is never read)."""
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return message  # the client left; the route sees the disconnect
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        parts.append(chunk)
        if not message.get("more_body", False):
            return {"type": "http.request", "body": b"".join(parts), "more_body": False}


def _replay(first: Message, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return first

    return replay
