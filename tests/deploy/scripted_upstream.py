"""A scripted OpenAI-compatible upstream for the full-app scale-out test, run in a thread on 127.0.0.1.

The run's task carries a marker the upstream acts on: `[[hang:ID]]` holds the first answer for ID until the test
releases it (the worker running it is killed meanwhile; the resumed call is answered at once), `[[write:ID]]` asks
for `workspace.write` of `ID.txt` (held for approval) and answers in text once the tool's result comes back.
Anything else gets a plain answer. `hits` counts requests per marker ID.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.serving import serve_app

_MARKER = re.compile(r"\[\[(hang|write):([a-z0-9-]+)\]\]")
_USAGE = {"prompt_tokens": 20, "completion_tokens": 10, "total_tokens": 30}


class Script:
    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.holding: set[str] = set()
        self.release = threading.Event()


def _text(messages: list[dict[str, Any]]) -> str:
    parts = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts.extend(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return "\n".join(parts)


def _message(body: dict[str, Any], script: Script) -> tuple[dict[str, Any], str]:
    messages = body.get("messages", [])
    found = _MARKER.search(_text([m for m in messages if m.get("role") == "user"]))
    if found is None:
        return {"role": "assistant", "content": "All good."}, "stop"
    kind, ident = found.groups()
    script.hits[ident] += 1
    if kind == "write" and not any(m.get("role") == "tool" for m in messages):
        arguments = orjson.dumps({"path": f"{ident}.txt", "content": f"written by {ident}"}).decode()
        call = {
            "id": f"call_{ident}",
            "type": "function",
            "function": {"name": "workspace_write", "arguments": arguments},
        }
        return {"role": "assistant", "content": None, "tool_calls": [call]}, "tool_calls"
    return {"role": "assistant", "content": f"Finished {ident}."}, "stop"


def _sse(model: str, message: dict[str, Any], finish: str) -> Iterator[bytes]:
    def chunk(delta: dict[str, Any], reason: str | None = None, usage: dict[str, int] | None = None) -> bytes:
        body: dict[str, Any] = {
            "id": "chatcmpl-scripted",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": reason}] if usage is None else [],
        }
        if usage is not None:
            body["usage"] = usage
        return b"data: " + orjson.dumps(body) + b"\n\n"

    yield chunk({"role": "assistant", "content": message["content"] or ""})
    if message.get("tool_calls"):
        yield chunk({"tool_calls": [{"index": 0, **message["tool_calls"][0]}]})
    yield chunk({}, finish)
    yield chunk({}, usage=_USAGE)
    yield b"data: [DONE]\n\n"


def build_app(script: Script) -> Starlette:
    async def chat(request: Request) -> Response:
        body = orjson.loads(await request.body())
        model = str(body.get("model"))
        found = _MARKER.search(_text([m for m in body.get("messages", []) if m.get("role") == "user"]))
        if found and found.group(1) == "hang" and script.hits[found.group(2)] == 0:
            script.hits[found.group(2)] += 1
            script.holding.add(found.group(2))
            while not script.release.is_set():  # the worker that sent this is killed meanwhile
                await asyncio.sleep(0.05)
            return Response(status_code=500)
        message, finish = _message(body, script)
        if body.get("stream"):
            return StreamingResponse(_sse(model, message, finish), media_type="text/event-stream")
        return JSONResponse(
            {
                "id": "chatcmpl-scripted",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                "usage": _USAGE,
            }
        )

    return Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])


@contextmanager
def running_script() -> Iterator[tuple[str, Script]]:
    script = Script()
    with serve_app(build_app(script)) as url:
        try:
            yield f"{url}/v1", script
        finally:
            script.release.set()
