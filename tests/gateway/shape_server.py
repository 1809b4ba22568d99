"""A local upstream on 127.0.0.1 that answers as OpenRouter, Perplexity and Cohere document, for end-to-end tests
through `sophia serve` and the `sophia models sync` command."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.gateway.provider_shapes import KINDS
from tests.serving import serve_app

OPENROUTER_MODELS = {
    "data": [
        {
            "id": "openai/gpt-4o-mini",
            "canonical_slug": "openai/gpt-4o-mini",
            "name": "OpenAI: GPT-4o-mini",
            "created": 1721260800,
            "context_length": 128000,
            "architecture": {
                "modality": "text+image->text",
                "input_modalities": ["text", "image", "file"],
                "output_modalities": ["text"],
                "tokenizer": "GPT",
            },
            "pricing": {
                "prompt": "0.0000002",
                "completion": "0.0000008",
                "request": "0",
                "image": "0.000217",
                "web_search": "0",
                "internal_reasoning": "0",
            },
            "top_provider": {"context_length": 128000, "max_completion_tokens": 16384, "is_moderated": True},
            "per_request_limits": None,
            "supported_parameters": [
                "max_tokens",
                "temperature",
                "tools",
                "tool_choice",
                "response_format",
                "structured_outputs",
                "seed",
            ],
        },
        {
            "id": "mistralai/mistral-nemo",
            "canonical_slug": "mistralai/mistral-nemo",
            "name": "Mistral: Mistral Nemo",
            "created": 1721347200,
            "context_length": 131072,
            "architecture": {
                "modality": "text->text",
                "input_modalities": ["text"],
                "output_modalities": ["text"],
                "tokenizer": "Mistral",
            },
            "pricing": {"prompt": "0.00000002", "completion": "0.00000004", "request": "0", "image": "0"},
            "top_provider": {"context_length": 131072, "max_completion_tokens": 16384, "is_moderated": False},
            "per_request_limits": None,
            "supported_parameters": ["max_tokens", "temperature", "tools", "tool_choice"],
        },
        {
            "id": "openrouter/auto",
            "name": "Auto Router",
            "context_length": 2000000,
            "architecture": {"input_modalities": ["text", "image"]},
            "pricing": {"prompt": "-1", "completion": "-1"},
            "supported_parameters": [],
        },
    ]
}


class ShapeState:
    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], dict[str, Any]]] = []


def _answer(shape_kind: str, stream: bool) -> Response:
    shapes = KINDS[shape_kind]
    if stream:
        return Response(shapes.stream, media_type="text/event-stream")
    return Response(orjson.dumps(shapes.plain), media_type="application/json")


def build_app(state: ShapeState) -> Starlette:
    async def chat(request: Request) -> Response:
        body = orjson.loads(await request.body())
        state.requests.append((request.url.path, dict(request.headers), body))
        kind = "openrouter" if request.url.path.startswith("/api/") else "perplexity"
        return _answer(kind, bool(body.get("stream")))

    async def cohere_chat(request: Request) -> Response:
        from tests.gateway.test_provider_cohere import PLAIN, TEXT_STREAM

        body = orjson.loads(await request.body())
        state.requests.append((request.url.path, dict(request.headers), body))
        if body.get("stream"):
            return Response(TEXT_STREAM, media_type="text/event-stream")
        return Response(orjson.dumps(PLAIN), media_type="application/json")

    async def models(request: Request) -> Response:
        state.requests.append((request.url.path, dict(request.headers), {}))
        return Response(orjson.dumps(OPENROUTER_MODELS), media_type="application/json")

    return Starlette(
        routes=[
            Route("/api/v1/chat/completions", chat, methods=["POST"]),
            Route("/api/v1/models", models, methods=["GET"]),
            Route("/pplx/chat/completions", chat, methods=["POST"]),
            Route("/cohere/v2/chat", cohere_chat, methods=["POST"]),
        ]
    )


@contextmanager
def running_shape_server() -> Iterator[tuple[str, ShapeState]]:
    state = ShapeState()
    with serve_app(build_app(state)) as url:
        yield url, state
