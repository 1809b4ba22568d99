"""A fault-injecting OpenAI-compatible upstream on 127.0.0.1, run in a thread by the tests.

The upstream model name picks the behaviour: `ok`, `tools`, `status-429`, `status-500`, `status-400`, `status-401`,
`stall-first` (no first token for a while), `cut-stream` (the stream dies midway), `bad-json`, `slow-<ms>`,
`flaky-<n>` (fails with 500 n times, then answers). Every request is counted per model in `hits` and its body kept
in `bodies`; a model named in `replies` answers (plainly) with that text.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.serving import serve_app

ANSWER = "The quick brown fox jumps over the lazy dog."


class FaultState:
    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.bodies: list[dict[str, Any]] = []
        self.replies: dict[str, str] = {}
        self.stall_seconds = 3.0

    def reset(self) -> None:
        self.hits.clear()
        self.bodies.clear()


def _completion(model: str, text: str = ANSWER, tool: bool = False) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": None if tool else text}
    if tool:
        message["tool_calls"] = [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
            }
        ]
    return {
        "id": "chatcmpl-fault",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if tool else "stop"}],
        "usage": {"prompt_tokens": 1000, "completion_tokens": 500, "total_tokens": 1500},
    }


def _chunk(model: str, delta: dict[str, Any], finish: str | None = None) -> bytes:
    body = {
        "id": "chatcmpl-fault",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + orjson.dumps(body) + b"\n\n"


async def _stream(model: str, state: FaultState, tool: bool) -> AsyncIterator[bytes]:
    if model == "stall-first":
        await asyncio.sleep(state.stall_seconds)
    yield _chunk(model, {"role": "assistant", "content": ""})
    if tool:
        yield _chunk(
            model,
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": ""},
                    }
                ]
            },
        )
        for piece in ('{"ci', 'ty": "Pa', 'ris"}'):
            yield _chunk(model, {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
        yield _chunk(model, {}, "tool_calls")
    else:
        words = ANSWER.split(" ")
        for i, word in enumerate(words):
            if model == "cut-stream" and i == 3:
                raise ConnectionResetError("cut")  # uvicorn drops the connection mid-body
            yield _chunk(model, {"content": word + (" " if i < len(words) - 1 else "")})
        yield _chunk(model, {}, "stop")
    usage = {
        "id": "chatcmpl-fault",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": model,
        "choices": [],
        "usage": {"prompt_tokens": 1000, "completion_tokens": 500, "total_tokens": 1500},
    }
    yield b"data: " + orjson.dumps(usage) + b"\n\n"
    yield b"data: [DONE]\n\n"


def build_app(state: FaultState) -> Starlette:
    async def chat(request: Request) -> Response:
        body = orjson.loads(await request.body())
        model = str(body.get("model"))
        state.hits[model] += 1
        state.bodies.append(body)
        if model.startswith("status-"):
            code = int(model.split("-")[1])
            headers = {"retry-after": "0"} if code == 429 else {}
            return JSONResponse(
                {"error": {"message": f"injected {code}", "type": "fault", "code": None}},
                status_code=code,
                headers=headers,
            )
        if model.startswith("flaky-") and state.hits[model] <= int(model.split("-")[1]):
            return JSONResponse(
                {"error": {"message": "injected flake", "type": "server_error"}}, status_code=500
            )
        if model in state.replies and not body.get("stream"):
            return JSONResponse(_completion(model, text=state.replies[model]))
        if model == "bad-json":
            return Response(b'{"choices": [ this is not json', media_type="application/json")
        if model.startswith("slow-"):
            await asyncio.sleep(int(model.split("-")[1]) / 1000)
        tool = model == "tools"
        if body.get("stream"):
            return StreamingResponse(_stream(model, state, tool), media_type="text/event-stream")
        if model == "stall-first":
            await asyncio.sleep(state.stall_seconds)
        return JSONResponse(_completion(model, tool=tool))

    async def embeddings(request: Request) -> Response:
        body = orjson.loads(await request.body())
        state.hits[str(body.get("model"))] += 1
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        data = [{"object": "embedding", "index": i, "embedding": [0.1, 0.2, 0.3]} for i in range(len(inputs))]
        return JSONResponse(
            {
                "object": "list",
                "data": data,
                "model": body["model"],
                "usage": {"prompt_tokens": 10 * len(inputs), "total_tokens": 10 * len(inputs)},
            }
        )

    return Starlette(
        routes=[
            Route("/v1/chat/completions", chat, methods=["POST"]),
            Route("/v1/embeddings", embeddings, methods=["POST"]),
        ]
    )


@contextmanager
def running_fault_server() -> Iterator[tuple[str, FaultState]]:
    state = FaultState()
    with serve_app(build_app(state)) as url:
        yield f"{url}/v1", state
