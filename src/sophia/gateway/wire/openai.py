"""OpenAI Chat Completions: Sophia's canonical format, so this module only prepares and assembles dicts."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Mapping
from typing import Any, Literal, NotRequired, TypedDict

JSONDict = dict[str, Any]


class Usage(TypedDict):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_details: NotRequired[dict[str, int]]


class ToolCallFunction(TypedDict):
    name: str
    arguments: str


class ToolCall(TypedDict):
    id: str
    type: Literal["function"]
    function: ToolCallFunction


def prepare_chat_request(
    body: Mapping[str, Any], *, upstream_model: str, stream: bool, include_usage: bool = True
) -> JSONDict:
    """A shallow copy of the body with the upstream model and stream flags set; messages are shared."""
    out = dict(body)
    out["model"] = upstream_model
    if stream:
        out["stream"] = True
        if include_usage:
            options = dict(out.get("stream_options") or {})
            options["include_usage"] = True
            out["stream_options"] = options
    else:
        out.pop("stream", None)
        out.pop("stream_options", None)
    return out


def prepare_embedding_request(body: Mapping[str, Any], *, upstream_model: str) -> JSONDict:
    out = dict(body)
    out["model"] = upstream_model
    return out


def new_completion_id() -> str:
    return "chatcmpl-" + uuid.uuid4().hex[:24]


def make_usage(prompt_tokens: int, completion_tokens: int, cached_tokens: int | None = None) -> Usage:
    usage = Usage(
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        total_tokens=prompt_tokens + completion_tokens,
    )
    if cached_tokens is not None:
        usage["prompt_tokens_details"] = {"cached_tokens": cached_tokens}
    return usage


def make_completion(
    *,
    model: str,
    content: str | None,
    tool_calls: list[ToolCall] | None = None,
    finish_reason: str = "stop",
    usage: Usage | None = None,
    completion_id: str | None = None,
    created: int | None = None,
) -> JSONDict:
    """A `chat.completion` object with one choice."""
    message: JSONDict = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {
        "id": completion_id or new_completion_id(),
        "object": "chat.completion",
        "created": created if created is not None else int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}],
        "usage": usage,
    }


def make_chunk(
    *,
    completion_id: str,
    model: str,
    created: int,
    delta: JSONDict | None = None,
    finish_reason: str | None = None,
    usage: Usage | None = None,
    with_choice: bool = True,
) -> JSONDict:
    """A `chat.completion.chunk`; the final usage chunk has no choices (`with_choice=False`)."""
    chunk: JSONDict = {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": (
            [{"index": 0, "delta": delta or {}, "logprobs": None, "finish_reason": finish_reason}]
            if with_choice
            else []
        ),
    }
    if usage is not None or not with_choice:
        chunk["usage"] = usage
    return chunk


class ChunkAccumulator:
    """Rebuilds the `chat.completion` a stream of chunks describes (content, tool calls, finish, usage)."""

    def __init__(self) -> None:
        self.completion_id = ""
        self.model = ""
        self.created = 0
        self.role_seen = False
        self._content: list[str] = []
        self._reasoning: list[str] = []
        self.extras: JSONDict = {}  # top-level fields an upstream adds (Perplexity's citations, search_results)
        self._tools: dict[int, JSONDict] = {}
        self._arguments: dict[int, list[str]] = {}
        self.finish_reason: str | None = None
        self.usage: Usage | None = None

    def add(self, chunk: Mapping[str, Any]) -> None:
        self.completion_id = self.completion_id or str(chunk.get("id") or "")
        self.model = self.model or str(chunk.get("model") or "")
        self.created = self.created or int(chunk.get("created") or 0)
        if chunk.get("usage"):
            self.usage = chunk["usage"]
        for key in _CARRIED:
            if chunk.get(key):
                self.extras[key] = chunk[key]
        for choice in chunk.get("choices") or ():
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            self.role_seen = self.role_seen or "role" in delta
            if delta.get("content"):
                self._content.append(delta["content"])
            if delta.get("reasoning_content"):
                self._reasoning.append(delta["reasoning_content"])
            for call in delta.get("tool_calls") or ():
                self._add_tool_fragment(call)
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]

    def _add_tool_fragment(self, call: Mapping[str, Any]) -> None:
        index = int(call.get("index", 0))
        entry = self._tools.setdefault(index, {"id": "", "type": "function", "name": ""})
        function = call.get("function") or {}
        if call.get("id"):
            entry["id"] = call["id"]
        if function.get("name"):
            entry["name"] = function["name"]
        if function.get("arguments"):
            self._arguments.setdefault(index, []).append(function["arguments"])

    @property
    def content(self) -> str:
        return "".join(self._content)

    @property
    def tool_calls(self) -> list[ToolCall]:
        return [
            ToolCall(
                id=entry["id"],
                type="function",
                function={"name": entry["name"], "arguments": "".join(self._arguments.get(index, []))},
            )
            for index, entry in sorted(self._tools.items())
        ]

    def completion(self) -> JSONDict:
        calls = self.tool_calls
        completion = make_completion(
            model=self.model,
            content=self.content or (None if calls else ""),
            tool_calls=calls or None,
            finish_reason=self.finish_reason or "stop",
            usage=self.usage,
            completion_id=self.completion_id or None,
            created=self.created or None,
        )
        if self._reasoning:
            completion["choices"][0]["message"]["reasoning_content"] = "".join(self._reasoning)
        completion.update(self.extras)
        return completion


_CARRIED = ("citations", "search_results")


def collect_chunks(chunks: Iterable[Mapping[str, Any]]) -> JSONDict:
    accumulator = ChunkAccumulator()
    for chunk in chunks:
        accumulator.add(chunk)
    return accumulator.completion()


__all__ = [
    "ChunkAccumulator",
    "JSONDict",
    "ToolCall",
    "ToolCallFunction",
    "Usage",
    "collect_chunks",
    "make_chunk",
    "make_completion",
    "make_usage",
    "new_completion_id",
    "prepare_chat_request",
    "prepare_embedding_request",
]
