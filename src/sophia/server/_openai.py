"""OpenAI-compatible endpoints. Bodies are parsed once with orjson and forwarded; only routing fields are read."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response, StreamingResponse

from sophia.accounts import Principal
from sophia.config import TASKS
from sophia.errors import BodyTooLarge, InvalidInput, PermissionDenied, SophiaError
from sophia.gateway import CacheMode, Caller, Gateway, Outcome
from sophia.observability import request_id_var
from sophia.server._auth import USERS_OF_MODELS, authenticate, require_scope, services
from sophia.server._errors import error_body
from sophia.server._json import JsonResponse
from sophia.server._schemas import OpenObject, errors, ok

router = APIRouter(prefix="/v1", tags=["openai"])
CHAT_PATH = "/v1/chat/completions"

_MESSAGE: dict[str, Any] = {
    "type": "object",
    "required": ["role", "content"],
    "properties": {
        "role": {"enum": ["system", "developer", "user", "assistant", "tool"]},
        "content": {
            "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "object"}}, {"type": "null"}]
        },
    },
}
_TOOL: dict[str, Any] = {
    "type": "object",
    "required": ["type", "function"],
    "properties": {
        "type": {"enum": ["function"]},
        "function": {
            "type": "object",
            "required": ["name"],
            "properties": {"name": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"}, "parameters": {}},
        },
    },
}
_CHAT_SCHEMA: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["model", "messages"],
                    "properties": {
                        "model": {
                            "type": "string",
                            "minLength": 1,
                            "description": "A model name, 'sophia/<task>' or 'auto'.",
                        },
                        "messages": {"type": "array", "minItems": 1, "items": _MESSAGE},
                        "stream": {"type": "boolean"},
                        "tools": {"type": "array", "items": _TOOL},
                        "temperature": {"type": "number", "minimum": 0, "maximum": 2},
                        "max_tokens": {"type": "integer", "minimum": 1},
                    },
                }
            }
        },
    }
}
_EMBED_SCHEMA: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["model", "input"],
                    "properties": {"model": {"type": "string"}, "input": {}},
                }
            }
        },
    }
}


def caller_of(principal: Principal) -> Caller:
    budget = float(principal.budget_usd) if principal.budget_usd is not None else None
    key_id = str(principal.key_id) if principal.key_id is not None else None
    return Caller(user_id=str(principal.user_id), api_key_id=key_id, key_budget_usd=budget)


async def _model_user(request: Request, scope: str) -> Principal:
    principal = await authenticate(request)
    check_model_user(principal, scope)
    return principal


def check_model_user(principal: Principal, scope: str) -> None:
    """Models are for admins and members, with a key that carries `scope`."""
    if principal.role not in USERS_OF_MODELS:
        raise PermissionDenied(
            f"the role {principal.role.value} may not call models; ask an admin for member access"
        )
    require_scope(principal, scope)


async def _json_object(request: Request) -> dict[str, Any]:
    return parse_body(await request.body(), services(request).settings.server.max_body_bytes)


def parse_body(raw: bytes, limit: int) -> dict[str, Any]:
    """The request body as a JSON object, parsed once; only routing fields are read later."""
    if len(raw) > limit:
        raise BodyTooLarge(
            f"the request body is {len(raw)} bytes; the limit is {limit} (server.max_body_bytes)"
        )
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InvalidInput("the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise InvalidInput("the request body must be a JSON object")
    return body


def outcome_headers(outcome: Outcome) -> dict[str, str]:
    headers = {
        "x-sophia-model": outcome.model.name,
        "x-sophia-provider": outcome.model.provider,
        "x-sophia-task": outcome.task or "",
        "x-sophia-attempts": str(outcome.attempts),
        "x-sophia-cost-usd": f"{outcome.cost_usd:.8f}",
    }
    if outcome.cached:
        headers["x-sophia-cache"] = "hit"
    return headers


_CHAT_OK: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A chat.completion object, or server-sent chat.completion.chunk events when stream is true",
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "text/event-stream": {"schema": {"type": "string"}},
        },
    }
}
_API_ERRORS = errors(400, 401, 403, 404, 413, 422, 429, 500, 502, 503, 504)


@router.post(
    "/chat/completions",
    openapi_extra=_CHAT_SCHEMA,
    summary="Create a chat completion (OpenAI-compatible)",
    response_model=None,
    responses={**_CHAT_OK, **_API_ERRORS},
)
async def chat_completions(request: Request) -> Response:
    """Served by `ChatCompletionsEndpoint` on the hot path; this route documents it and serves when that is off."""
    principal = await _model_user(request, "chat")
    body = await _json_object(request)
    gateway = services(request).gateway
    request_id = request_id_var.get() or ""
    cache = CacheMode.from_header(request.headers.get("cache-control"))
    if body.get("stream") is True:
        return await stream_response(gateway, body, caller_of(principal), request_id, cache)
    response, outcome = await gateway.complete(body, caller_of(principal), request_id, cache=cache)
    return JsonResponse(response, headers=outcome_headers(outcome))


async def stream_response(
    gateway: Gateway,
    body: dict[str, Any],
    caller: Caller,
    request_id: str,
    cache: CacheMode = CacheMode.USE,
) -> Response:
    """Server-sent events once a model has produced its first token (failures before that fall back)."""
    stream_options = body.get("stream_options")
    wants_usage = isinstance(stream_options, dict) and stream_options.get("include_usage") is True
    entry, chunks = await gateway.open_stream(body, caller, request_id, cache=cache)
    headers = {
        "x-sophia-model": entry.name,
        "x-sophia-provider": entry.provider,
        "cache-control": "no-cache",
    }
    return StreamingResponse(_sse(chunks, wants_usage), media_type="text/event-stream", headers=headers)


async def _sse(chunks: AsyncIterator[dict[str, Any]], wants_usage: bool) -> AsyncIterator[bytes]:
    """Chunks as server-sent events; a failure after the first token is an `error` event and no [DONE]."""
    try:
        async for chunk in chunks:
            if not chunk.get("choices") and chunk.get("usage") and not wants_usage:
                continue
            yield b"data: " + orjson.dumps(chunk) + b"\n\n"
    except SophiaError as error:
        yield b"data: " + orjson.dumps(error_body(error.http_status, error.message, error.code)) + b"\n\n"
        return
    yield b"data: [DONE]\n\n"


@router.post(
    "/embeddings",
    openapi_extra=_EMBED_SCHEMA,
    summary="Create embeddings (OpenAI-compatible)",
    response_model=None,
    responses={**ok(OpenObject), **_API_ERRORS},
)
async def embeddings(request: Request) -> Response:
    principal = await _model_user(request, "embeddings")
    body = await _json_object(request)
    response, outcome = await services(request).gateway.embed(
        body, caller_of(principal), request_id_var.get() or ""
    )
    return JsonResponse(response, headers=outcome_headers(outcome))


@router.get(
    "/models",
    summary="List models and task aliases (OpenAI-compatible)",
    response_model=None,
    responses={**ok(OpenObject), **errors(401, 403, 429, 500)},
)
async def list_models(request: Request) -> JsonResponse:
    await authenticate(request)
    catalog = services(request).gateway.catalog
    data: list[dict[str, Any]] = [
        {
            "id": entry.name,
            "object": "model",
            "created": 0,
            "owned_by": entry.provider,
            "sophia": {
                "upstream": entry.upstream,
                "input_price_per_1m": entry.input_price,
                "output_price_per_1m": entry.output_price,
                "context_window": entry.context_window,
                "capabilities": {
                    "tools": entry.tools,
                    "vision": entry.vision,
                    "json_mode": entry.json_mode,
                    "reasoning": entry.reasoning,
                },
            },
        }
        for entry in catalog
    ]
    data += [
        {"id": f"sophia/{task}", "object": "model", "created": 0, "owned_by": "sophia"} for task in TASKS
    ]
    data.append({"id": "auto", "object": "model", "created": 0, "owned_by": "sophia"})
    return JsonResponse({"object": "list", "data": data})


@router.get(
    "/gateway/stats",
    summary="Live health per deployment: latency, TTFT, error rate, breaker state",
    response_model=None,
    responses={**ok(OpenObject), **errors(401, 403, 429, 500)},
)
async def gateway_stats(request: Request) -> JsonResponse:
    await authenticate(request)
    gateway = services(request).gateway
    breakers = gateway.breakers.states()
    rows = []
    for entry in gateway.catalog:
        health = gateway.health.get(entry.name)
        rows.append(
            {**health.to_dict(), "provider": entry.provider, "breaker": breakers.get(entry.name, "closed")}
        )
    return JsonResponse({"object": "list", "data": rows})
