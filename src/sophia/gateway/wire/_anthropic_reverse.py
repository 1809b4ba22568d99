"""OpenAI completions and chunks → Anthropic Messages responses and events, to serve Anthropic clients."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from sophia.gateway.wire.openai import JSONDict

FINISH_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "content_filter": "refusal",
}
AnthropicEvent = tuple[str, JSONDict]
"""(event name, data) — ready for `encode_sse(data, event=name)`."""


def _tool_input(arguments: Any) -> Any:
    if not isinstance(arguments, str):
        return arguments or {}
    try:
        return orjson.loads(arguments) if arguments else {}
    except orjson.JSONDecodeError:
        return {}


def _anthropic_usage(usage: Mapping[str, Any] | None) -> JSONDict:
    usage = usage or {}
    cached = int((usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0)
    return {
        "input_tokens": int(usage.get("prompt_tokens") or 0) - cached,
        "cache_read_input_tokens": cached,
        "output_tokens": int(usage.get("completion_tokens") or 0),
    }


def to_anthropic_response(completion: Mapping[str, Any]) -> JSONDict:
    """An OpenAI `chat.completion` as an Anthropic `message`."""
    choice = (completion.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    content: list[JSONDict] = []
    if message.get("content"):
        content.append({"type": "text", "text": message["content"]})
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {}
        content.append(
            {
                "type": "tool_use",
                "id": call.get("id"),
                "name": function.get("name"),
                "input": _tool_input(function.get("arguments")),
            }
        )
    return {
        "id": completion.get("id"),
        "type": "message",
        "role": "assistant",
        "model": completion.get("model"),
        "content": content,
        "stop_reason": FINISH_REASONS.get(str(choice.get("finish_reason")), "end_turn"),
        "stop_sequence": None,
        "usage": _anthropic_usage(completion.get("usage")),
    }


class OpenAIToAnthropicStream:
    """Feed OpenAI chunks, then call `finish()`; get Anthropic events in the documented order."""

    def __init__(self) -> None:
        self._started = False
        self._open: int | None = None
        self._open_kind = ""
        self._blocks = 0
        self._tool_blocks: dict[int, int] = {}
        self._stop_reason = "end_turn"
        self._usage: Mapping[str, Any] | None = None

    def feed(self, chunk: Mapping[str, Any]) -> list[AnthropicEvent]:
        events: list[AnthropicEvent] = []
        if not self._started:
            self._started = True
            message: JSONDict = {
                "id": chunk.get("id"),
                "type": "message",
                "role": "assistant",
                "model": chunk.get("model"),
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": 0, "output_tokens": 0},
            }
            events.append(("message_start", {"type": "message_start", "message": message}))
        if chunk.get("usage"):
            self._usage = chunk["usage"]
        for choice in chunk.get("choices") or ():
            if choice.get("index", 0) == 0:
                events += self._choice(choice)
        return events

    def _choice(self, choice: Mapping[str, Any]) -> list[AnthropicEvent]:
        events: list[AnthropicEvent] = []
        delta = choice.get("delta") or {}
        if delta.get("content"):
            if self._open_kind != "text":
                events += self._start({"type": "text", "text": ""}, "text")
            events.append(self._delta(self._blocks - 1, {"type": "text_delta", "text": delta["content"]}))
        for call in delta.get("tool_calls") or ():
            events += self._tool_fragment(call)
        if choice.get("finish_reason"):
            self._stop_reason = FINISH_REASONS.get(str(choice["finish_reason"]), "end_turn")
        return events

    def _tool_fragment(self, call: Mapping[str, Any]) -> list[AnthropicEvent]:
        events: list[AnthropicEvent] = []
        index = int(call.get("index", 0))
        function = call.get("function") or {}
        if index not in self._tool_blocks:
            block: JSONDict = {"type": "tool_use", "id": call.get("id"), "name": function.get("name")}
            block["input"] = {}
            events += self._start(block, "tool_use")
            self._tool_blocks[index] = self._blocks - 1
        if function.get("arguments"):
            partial = {"type": "input_json_delta", "partial_json": function["arguments"]}
            events.append(self._delta(self._tool_blocks[index], partial))
        return events

    def _start(self, block: JSONDict, kind: str) -> list[AnthropicEvent]:
        events = self._stop_open()
        self._open, self._open_kind = self._blocks, kind
        self._blocks += 1
        events.append(
            (
                "content_block_start",
                {"type": "content_block_start", "index": self._open, "content_block": block},
            )
        )
        return events

    def _stop_open(self) -> list[AnthropicEvent]:
        if self._open is None:
            return []
        index, self._open, self._open_kind = self._open, None, ""
        return [("content_block_stop", {"type": "content_block_stop", "index": index})]

    @staticmethod
    def _delta(index: int, delta: JSONDict) -> AnthropicEvent:
        return ("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})

    def finish(self) -> list[AnthropicEvent]:
        """Close the open block and end the message with its stop reason and output token count."""
        events = self._stop_open()
        usage = _anthropic_usage(self._usage)
        delta = {"stop_reason": self._stop_reason, "stop_sequence": None}
        events.append(("message_delta", {"type": "message_delta", "delta": delta, "usage": usage}))
        events.append(("message_stop", {"type": "message_stop"}))
        return events


__all__ = ["AnthropicEvent", "OpenAIToAnthropicStream", "to_anthropic_response"]
