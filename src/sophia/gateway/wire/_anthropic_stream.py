"""Anthropic Messages stream events → OpenAI `chat.completion.chunk` dicts, tool-call fragments included."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from sophia.gateway._errors import ProviderProtocolError, error_from_stream_event
from sophia.gateway.wire.anthropic import STOP_REASONS, anthropic_usage
from sophia.gateway.wire.openai import JSONDict, make_chunk


class AnthropicStreamTranslator:
    """Feed each decoded Anthropic event; get the OpenAI chunks it stands for.

    Tool-use blocks become `tool_calls` entries whose `index` counts tool calls only (not content blocks),
    with `id`, `type` and `name` on the first fragment and argument text in later ones. `message_stop`
    produces a last chunk with no choices that carries usage. An `error` event raises a typed error.
    """

    def __init__(self, provider: str = "anthropic") -> None:
        self.provider = provider
        self.completion_id = ""
        self.model = ""
        self.created = int(time.time())
        self.done = False
        self._usage: dict[str, Any] = {}
        self._tool_index: dict[int, int] = {}
        self._finish_reason: str | None = None

    def feed(self, event: Mapping[str, Any]) -> list[JSONDict]:
        kind = event.get("type")
        handler = _HANDLERS.get(str(kind))
        if handler is None:
            return []  # unknown events are ignored, as Anthropic's versioning policy asks
        return handler(self, event)

    def _chunk(self, delta: JSONDict | None = None, finish_reason: str | None = None) -> JSONDict:
        return make_chunk(
            completion_id=self.completion_id,
            model=self.model,
            created=self.created,
            delta=delta,
            finish_reason=finish_reason,
        )

    def _message_start(self, event: Mapping[str, Any]) -> list[JSONDict]:
        message = event.get("message") or {}
        self.completion_id = str(message.get("id") or "")
        self.model = str(message.get("model") or "")
        self._usage.update(message.get("usage") or {})
        return [self._chunk({"role": "assistant", "content": ""})]

    def _block_start(self, event: Mapping[str, Any]) -> list[JSONDict]:
        block = event.get("content_block") or {}
        if block.get("type") == "text" and block.get("text"):
            return [self._chunk({"content": block["text"]})]
        if block.get("type") != "tool_use":
            return []
        index = len(self._tool_index)
        self._tool_index[int(event.get("index", 0))] = index
        call = {
            "index": index,
            "id": block.get("id"),
            "type": "function",
            "function": {"name": block.get("name"), "arguments": ""},
        }
        return [self._chunk({"tool_calls": [call]})]

    def _block_delta(self, event: Mapping[str, Any]) -> list[JSONDict]:
        delta = event.get("delta") or {}
        kind = delta.get("type")
        if kind == "text_delta":
            return [self._chunk({"content": delta.get("text", "")})] if delta.get("text") else []
        if kind == "input_json_delta":
            fragment = delta.get("partial_json") or ""
            index = self._tool_index.get(int(event.get("index", 0)))
            if index is None:
                raise ProviderProtocolError(
                    f"Provider '{self.provider}' streamed tool input for a block it never started.",
                    provider=self.provider,
                )
            if not fragment:
                return []
            return [self._chunk({"tool_calls": [{"index": index, "function": {"arguments": fragment}}]})]
        return []  # thinking and signature deltas have no Chat Completions equivalent

    def _message_delta(self, event: Mapping[str, Any]) -> list[JSONDict]:
        self._usage.update({k: v for k, v in (event.get("usage") or {}).items() if v is not None})
        reason = (event.get("delta") or {}).get("stop_reason")
        if reason is None:
            return []
        self._finish_reason = STOP_REASONS.get(str(reason), "stop")
        return [self._chunk({}, finish_reason=self._finish_reason)]

    def _message_stop(self, event: Mapping[str, Any]) -> list[JSONDict]:
        self.done = True
        out = [] if self._finish_reason else [self._chunk({}, finish_reason="stop")]
        usage_chunk = make_chunk(
            completion_id=self.completion_id,
            model=self.model,
            created=self.created,
            usage=anthropic_usage(self._usage),
            with_choice=False,
        )
        return [*out, usage_chunk]

    def _error(self, event: Mapping[str, Any]) -> list[JSONDict]:
        raise error_from_stream_event(self.provider, event)

    def _ignore(self, event: Mapping[str, Any]) -> list[JSONDict]:
        return []


_HANDLERS = {
    "message_start": AnthropicStreamTranslator._message_start,
    "content_block_start": AnthropicStreamTranslator._block_start,
    "content_block_delta": AnthropicStreamTranslator._block_delta,
    "content_block_stop": AnthropicStreamTranslator._ignore,
    "message_delta": AnthropicStreamTranslator._message_delta,
    "message_stop": AnthropicStreamTranslator._message_stop,
    "ping": AnthropicStreamTranslator._ignore,
    "error": AnthropicStreamTranslator._error,
}

__all__ = ["AnthropicStreamTranslator"]
