"""A provider that answers from a script: the test double the suite and the docs use for a real model."""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import math
import re
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import orjson

from sophia.gateway._errors import ProviderBadRequest, ProviderTimeout, StreamInterrupted
from sophia.gateway.providers._base import JSONDict, Timeouts, guard_stream
from sophia.gateway.wire.openai import (
    ToolCall,
    Usage,
    make_chunk,
    make_completion,
    make_usage,
    new_completion_id,
)

_PIECES = re.compile(r"\s*\S+\s*|\s+")
_ARGUMENT_PIECE = 8


@dataclass(frozen=True, slots=True)
class ScriptedToolCall:
    name: str
    arguments: Mapping[str, Any] | str = field(default_factory=dict)
    id: str | None = None


@dataclass(frozen=True, slots=True)
class ScriptedReply:
    """One answer, plus the failures to inject while giving it.

    `stall_at=n` hangs (until a timeout cancels it) before stream chunk `n`, or before answering when
    `n == 0` on a plain call; `cut_after=n` breaks a stream with `StreamInterrupted` after `n` chunks.
    """

    text: str = ""
    tool_calls: Sequence[ScriptedToolCall] = ()
    finish_reason: str | None = None
    usage: Usage | None = None
    stall_at: int | None = None
    cut_after: int | None = None


Reply: TypeAlias = str | Mapping[str, Any] | ScriptedReply | BaseException
ScriptFunction: TypeAlias = Callable[[JSONDict], Reply | Awaitable[Reply]]


class ScriptedProvider:
    """Answers from a function `(body) -> reply` or a list of replies taken in order.

    A reply is text, a whole `chat.completion` dict, a `ScriptedReply`, or an exception to raise. Every
    request body is kept in `calls`. The stream deadlines in `timeouts` apply exactly as for real providers.
    """

    def __init__(
        self,
        script: ScriptFunction | Sequence[Reply] | str,
        *,
        name: str = "scripted",
        model: str = "scripted-model",
        timeouts: Timeouts | None = None,
        embedding_dimensions: int = 8,
    ) -> None:
        self.name = name
        self.model = model
        self.timeouts = timeouts or Timeouts()
        self.embedding_dimensions = embedding_dimensions
        self.calls: list[JSONDict] = []
        self.closed = False
        self._function: ScriptFunction | None = None
        self._replies: list[Reply] = []
        self._repeat_last = isinstance(script, str)  # a bare string answers every call
        if isinstance(script, str):
            self._replies = [script]
        elif callable(script):
            self._function = script
        else:
            self._replies = list(script)

    async def _next_reply(self, body: JSONDict) -> ScriptedReply | JSONDict:
        self.calls.append(body)
        if self._function is not None:
            reply = self._function(body)
            if inspect.isawaitable(reply):
                reply = await reply
        elif self._replies:
            reply = self._replies[0] if self._repeat_last else self._replies.pop(0)
        else:
            raise ProviderBadRequest(
                f"ScriptedProvider '{self.name}' ran out of replies after {len(self.calls) - 1} calls; "
                "script more replies.",
                provider=self.name,
            )
        if isinstance(reply, BaseException):
            raise reply
        if isinstance(reply, str):
            return ScriptedReply(text=reply)
        if isinstance(reply, ScriptedReply):
            return reply
        return dict(reply)

    async def complete(self, body: JSONDict, *, upstream_model: str) -> JSONDict:
        try:
            async with asyncio.timeout(self.timeouts.total):
                return await self._complete(body, upstream_model)
        except TimeoutError:
            raise ProviderTimeout(
                f"ScriptedProvider '{self.name}' stalled past the total timeout, as scripted.",
                provider=self.name,
                phase="total",
            ) from None

    async def _complete(self, body: JSONDict, upstream_model: str) -> JSONDict:
        reply = await self._next_reply(body)
        if not isinstance(reply, ScriptedReply):
            return reply
        if reply.stall_at == 0:
            await asyncio.Event().wait()
        calls = _tool_calls(reply)
        return make_completion(
            model=upstream_model or self.model,
            content=reply.text if reply.text or not calls else None,
            tool_calls=calls or None,
            finish_reason=reply.finish_reason or ("tool_calls" if calls else "stop"),
            usage=reply.usage or _estimate_usage(body, reply.text, calls),
        )

    def stream(self, body: JSONDict, *, upstream_model: str) -> AsyncIterator[JSONDict]:
        return guard_stream(self._chunks(body, upstream_model), provider=self.name, timeouts=self.timeouts)

    async def _chunks(self, body: JSONDict, upstream_model: str) -> AsyncGenerator[JSONDict, None]:
        reply = await self._next_reply(body)
        if not isinstance(reply, ScriptedReply):
            reply = _reply_from_completion(reply)
        chunks = _script_chunks(reply, body, upstream_model or self.model)
        for number, chunk in enumerate(chunks):
            if reply.stall_at == number:
                await asyncio.Event().wait()
            if reply.cut_after == number:
                raise StreamInterrupted(
                    f"ScriptedProvider '{self.name}' cut the stream after {number} chunks, as scripted.",
                    provider=self.name,
                )
            await asyncio.sleep(0)
            yield chunk

    async def embed(self, body: JSONDict, *, upstream_model: str) -> JSONDict:
        """Deterministic unit vectors from a hash of each input: equal texts embed equally."""
        self.calls.append(body)
        raw = body.get("input", "")
        inputs = [raw] if isinstance(raw, str) else [str(item) for item in raw]
        data = [
            {"object": "embedding", "index": i, "embedding": _hash_vector(text, self.embedding_dimensions)}
            for i, text in enumerate(inputs)
        ]
        tokens = sum(_count_tokens(text) for text in inputs)
        return {
            "object": "list",
            "data": data,
            "model": upstream_model or self.model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }

    async def aclose(self) -> None:
        self.closed = True


def _tool_calls(reply: ScriptedReply) -> list[ToolCall]:
    calls: list[ToolCall] = []
    for i, call in enumerate(reply.tool_calls):
        arguments = (
            call.arguments if isinstance(call.arguments, str) else orjson.dumps(call.arguments).decode()
        )
        calls.append(
            ToolCall(
                id=call.id or f"call_{i}_{hashlib.sha1(call.name.encode()).hexdigest()[:8]}",
                type="function",
                function={"name": call.name, "arguments": arguments},
            )
        )
    return calls


def _reply_from_completion(completion: Mapping[str, Any]) -> ScriptedReply:
    choice = (completion.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    calls = [
        ScriptedToolCall(c["function"]["name"], c["function"].get("arguments") or "{}", c.get("id"))
        for c in message.get("tool_calls") or ()
    ]
    return ScriptedReply(
        text=message.get("content") or "",
        tool_calls=calls,
        finish_reason=choice.get("finish_reason"),
        usage=completion.get("usage"),
    )


def _script_chunks(reply: ScriptedReply, body: JSONDict, model: str) -> list[JSONDict]:
    completion_id, created = new_completion_id(), 0

    def chunk(delta: JSONDict, finish: str | None = None) -> JSONDict:
        return make_chunk(
            completion_id=completion_id, model=model, created=created, delta=delta, finish_reason=finish
        )

    chunks = [chunk({"role": "assistant", "content": ""})]
    chunks += [chunk({"content": piece}) for piece in _PIECES.findall(reply.text)]
    calls = _tool_calls(reply)
    for index, call in enumerate(calls):
        function = {"name": call["function"]["name"], "arguments": ""}
        first: JSONDict = {"index": index, "id": call["id"], "type": "function", "function": function}
        chunks.append(chunk({"tool_calls": [first]}))
        arguments = call["function"]["arguments"]
        for start in range(0, len(arguments), _ARGUMENT_PIECE):
            piece = arguments[start : start + _ARGUMENT_PIECE]
            chunks.append(chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}))
    chunks.append(chunk({}, reply.finish_reason or ("tool_calls" if calls else "stop")))
    usage = reply.usage or _estimate_usage(body, reply.text, calls)
    chunks.append(
        make_chunk(completion_id=completion_id, model=model, created=created, usage=usage, with_choice=False)
    )
    return chunks


def _count_tokens(text: str) -> int:
    return len(text.split())


def _estimate_usage(body: Mapping[str, Any], text: str, calls: list[ToolCall]) -> Usage:
    """Whitespace words stand in for tokens: stable, cheap and good enough for ledger tests."""
    prompt = 0
    for message in body.get("messages") or ():
        content = message.get("content")
        if isinstance(content, str):
            prompt += _count_tokens(content)
        elif isinstance(content, list):
            prompt += sum(_count_tokens(p.get("text", "")) for p in content if isinstance(p, Mapping))
    completion = _count_tokens(text) + sum(_count_tokens(c["function"]["arguments"]) + 1 for c in calls)
    return make_usage(prompt, completion)


def _hash_vector(text: str, dimensions: int) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    values = [(digest[i % len(digest)] - 127.5) / 127.5 for i in range(dimensions)]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [v / norm for v in values]


__all__ = ["Reply", "ScriptFunction", "ScriptedProvider", "ScriptedReply", "ScriptedToolCall"]
