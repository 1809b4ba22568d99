"""`POST /v1/messages`: Anthropic's Messages API over the same gateway (routing, fallbacks, budgets, ledger).

Requests are translated to Sophia's canonical OpenAI shape and answers back; errors use Anthropic's shape,
`{"type": "error", "error": {"type", "message"}}`, so the official `anthropic` clients understand them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel
from starlette.responses import Response, StreamingResponse

from sophia.errors import SophiaError
from sophia.gateway import CacheMode, encode_sse
from sophia.gateway.wire import OpenAIToAnthropicStream, from_anthropic_request, to_anthropic_response
from sophia.observability import redactor, request_id_var
from sophia.server._auth import authenticate, services
from sophia.server._json import JsonResponse
from sophia.server._openai import caller_of, check_model_user, outcome_headers, parse_body
from sophia.server._schemas import OpenObject

router = APIRouter(prefix="/v1", tags=["anthropic"])
MESSAGES_PATH = "/v1/messages"

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    422: "invalid_request_error",
    429: "rate_limit_error",
    503: "overloaded_error",
}


class AnthropicErrorDetail(BaseModel):
    type: str
    message: str


class AnthropicError(BaseModel):
    """Anthropic's error shape, on this route only."""

    type: str
    error: AnthropicErrorDetail


def anthropic_error_body(status: int, message: str) -> dict[str, Any]:
    kind = _ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    return {"type": "error", "error": {"type": kind, "message": redactor.redact(message)}}


def anthropic_error_response(status: int, message: str, retry_after: float | None = None) -> JsonResponse:
    headers: dict[str, str] = {}
    if retry_after is not None:
        headers["Retry-After"] = str(max(1, round(retry_after)))
    if request_id_var.get():
        headers["request-id"] = str(request_id_var.get())
    return JsonResponse(anthropic_error_body(status, message), status_code=status, headers=headers)


def _error_response(error: SophiaError) -> JsonResponse:
    return anthropic_error_response(error.http_status, error.message, getattr(error, "retry_after", None))


_TEXT_BLOCKS: dict[str, Any] = {
    "anyOf": [
        {"type": "string"},
        {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["type", "text"],
                "properties": {"type": {"enum": ["text"]}, "text": {"type": "string"}},
            },
        },
    ],
    "description": "Text, or text blocks; user turns may also hold image and tool_result blocks, assistant turns "
    "tool_use blocks (as in Anthropic's API).",
}
_TOOL: dict[str, Any] = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"},
        "description": {"type": "string"},
        "input_schema": {"type": "object"},
        "type": {"enum": ["custom"]},
    },
}
_MESSAGES_SCHEMA: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["model", "max_tokens", "messages"],
                    "properties": {
                        "model": {
                            "type": "string",
                            "minLength": 1,
                            "description": "A model, 'sophia/<task>' or 'auto'.",
                        },
                        "max_tokens": {"type": "integer", "minimum": 1},
                        "system": _TEXT_BLOCKS,
                        "messages": {
                            "type": "array",
                            "minItems": 1,
                            "items": {
                                "type": "object",
                                "required": ["role", "content"],
                                "properties": {
                                    "role": {"enum": ["user", "assistant"]},
                                    "content": _TEXT_BLOCKS,
                                },
                            },
                        },
                        "stream": {"type": "boolean"},
                        "tools": {"type": "array", "items": _TOOL},
                        "temperature": {"type": "number", "minimum": 0, "maximum": 1},
                    },
                }
            }
        },
    }
}
_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": AnthropicError, "description": text}
    for status, text in {
        400: "Malformed request",
        401: "Missing or invalid API key",
        403: "Role or scope does not allow this",
        404: "Model not found",
        413: "Request body too large",
        429: "Rate limit or budget exceeded",
        500: "Internal error",
        502: "A model provider failed",
        503: "No model available",
        504: "A model provider timed out",
    }.items()
}
_OK: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "An Anthropic message, or its server-sent events when stream is true",
        "content": {
            "application/json": {"schema": OpenObject.model_json_schema()},
            "text/event-stream": {"schema": {"type": "string"}},
        },
    }
}


@router.post(
    "/messages",
    openapi_extra=_MESSAGES_SCHEMA,
    summary="Create a message (Anthropic-compatible); key in x-api-key or Authorization: Bearer",
    response_model=None,
    responses={**_OK, **_ERRORS},
)
async def create_message(request: Request) -> Response:
    try:
        principal = await authenticate(request)
        check_model_user(principal, "chat")
        found = services(request)
        body = from_anthropic_request(parse_body(await request.body(), found.settings.server.max_body_bytes))
        caller, request_id = caller_of(principal), request_id_var.get() or ""
        cache = CacheMode.from_header(request.headers.get("cache-control"))
        if body.get("stream") is True:
            entry, chunks = await found.gateway.open_stream(body, caller, request_id, cache=cache)
            headers = {
                "x-sophia-model": entry.name,
                "x-sophia-provider": entry.provider,
                "cache-control": "no-cache",
            }
            return StreamingResponse(_events(chunks), media_type="text/event-stream", headers=headers)
        response, outcome = await found.gateway.complete(body, caller, request_id, cache=cache)
    except SophiaError as error:
        return _error_response(error)
    return JsonResponse(to_anthropic_response(response), headers=outcome_headers(outcome))


async def _events(chunks: AsyncIterator[dict[str, Any]]) -> AsyncIterator[bytes]:
    """Anthropic's event sequence; a failure after the first token is an `error` event and no message_stop."""
    stream = OpenAIToAnthropicStream()
    try:
        async for chunk in chunks:
            for name, data in stream.feed(chunk):
                yield encode_sse(data, event=name)
    except SophiaError as error:
        yield encode_sse(anthropic_error_body(error.http_status, error.message), event="error")
        return
    for name, data in stream.finish():
        yield encode_sse(data, event=name)
