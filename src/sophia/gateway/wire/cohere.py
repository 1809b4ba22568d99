"""Cohere's v2 Chat API (`POST /v2/chat`) to and from Sophia's canonical OpenAI Chat Completions dicts.

v2 messages are close to OpenAI's (system/user/assistant/tool roles, `tool_calls`, `tool_call_id`, tools as
`{"type": "function", "function": {...}}`); what differs is the answer (`message.content` is a list of text
parts, `finish_reason` is upper case, usage is `usage.tokens` and `usage.billed_units`) and the stream, a
sequence of typed events (`message-start`, `content-delta`, `tool-call-start`, `tool-call-delta`,
`message-end`, ...).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from sophia.gateway.wire.openai import ToolCall, Usage, make_chunk, make_completion, make_usage

JSONDict = dict[str, Any]

FINISH_REASONS = {
    "COMPLETE": "stop",
    "STOP_SEQUENCE": "stop",
    "MAX_TOKENS": "length",
    "TOOL_CALL": "tool_calls",
    "ERROR": "stop",
    "TIMEOUT": "stop",
}
_PASSED = ("temperature", "seed", "frequency_penalty", "presence_penalty")


def _text(content: Any) -> Any:
    """OpenAI content parts to Cohere's: text parts keep their shape, image_url parts become image_url parts."""
    if not isinstance(content, list):
        return content if content is not None else ""
    parts: list[JSONDict] = []
    for part in content:
        if not isinstance(part, Mapping):
            continue
        if part.get("type") == "text":
            parts.append({"type": "text", "text": str(part.get("text") or "")})
        elif part.get("type") == "image_url":
            parts.append({"type": "image_url", "image_url": part.get("image_url")})
    return parts


def _message(message: Mapping[str, Any]) -> JSONDict:
    role = message.get("role", "user")
    if role == "developer":
        role = "system"
    out: JSONDict = {"role": role}
    if role == "assistant" and message.get("tool_calls"):
        out["tool_calls"] = [
            {"id": c.get("id"), "type": "function", "function": dict(c.get("function") or {})}
            for c in message["tool_calls"]
        ]
        if message.get("content"):
            out["tool_plan"] = _plain(message["content"])
        return out
    if role == "tool":
        out["tool_call_id"] = message.get("tool_call_id")
    out["content"] = _text(message.get("content"))
    return out


def _plain(content: Any) -> str:
    if isinstance(content, list):
        return "".join(str(p.get("text") or "") for p in content if isinstance(p, Mapping))
    return str(content or "")


def to_cohere_request(body: Mapping[str, Any], *, upstream_model: str, stream: bool = False) -> JSONDict:
    payload: JSONDict = {
        "model": upstream_model,
        "messages": [_message(m) for m in body.get("messages") or ()],
        "stream": stream,
    }
    for key in _PASSED:
        if body.get(key) is not None:
            payload[key] = body[key]
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    if limit:
        payload["max_tokens"] = limit
    if body.get("top_p") is not None:
        payload["p"] = body["top_p"]
    stop = body.get("stop")
    if stop:
        payload["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    if body.get("tools"):
        payload["tools"] = [
            {"type": "function", "function": dict(t.get("function") or {})} for t in body["tools"]
        ]
    choice = body.get("tool_choice")
    if choice in ("required", "none"):
        payload["tool_choice"] = str(choice).upper()
    response_format = body.get("response_format")
    if isinstance(response_format, Mapping) and response_format.get("type") in ("json_object", "json_schema"):
        schema = (response_format.get("json_schema") or {}).get("schema")
        payload["response_format"] = {"type": "json_object", **({"json_schema": schema} if schema else {})}
    return payload


def cohere_usage(usage: Any) -> Usage | None:
    """`usage.tokens` are what the model saw; `billed_units` what is charged (the ledger takes the tokens)."""
    if not isinstance(usage, Mapping):
        return None
    tokens = usage.get("tokens") or usage.get("billed_units") or {}
    return make_usage(int(tokens.get("input_tokens") or 0), int(tokens.get("output_tokens") or 0))


def _tool_calls(calls: Any) -> list[ToolCall]:
    return [
        ToolCall(
            id=str(c.get("id") or ""),
            type="function",
            function={
                "name": str((c.get("function") or {}).get("name") or ""),
                "arguments": str((c.get("function") or {}).get("arguments") or "{}"),
            },
        )
        for c in calls or ()
        if isinstance(c, Mapping)
    ]


def from_cohere_response(response: Mapping[str, Any]) -> JSONDict:
    message = response.get("message") or {}
    text = "".join(
        str(p.get("text") or "")
        for p in message.get("content") or ()
        if isinstance(p, Mapping) and p.get("type") == "text"
    )
    calls = _tool_calls(message.get("tool_calls"))
    completion = make_completion(
        model=str(response.get("model") or ""),
        content=text or (None if calls else ""),
        tool_calls=calls or None,
        finish_reason=FINISH_REASONS.get(str(response.get("finish_reason")), "stop"),
        usage=cohere_usage(response.get("usage")),
        completion_id=str(response.get("id") or "") or None,
    )
    if message.get("citations"):
        completion["citations"] = message["citations"]
    return completion


class CohereStreamTranslator:
    """Turns Cohere v2 stream events into `chat.completion.chunk` dicts; `done` after `message-end`."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.completion_id = ""
        self.created = int(time.time())
        self.done = False

    def _chunk(self, **fields: Any) -> JSONDict:
        return make_chunk(completion_id=self.completion_id, model=self.model, created=self.created, **fields)

    def feed(self, event: Mapping[str, Any]) -> list[JSONDict]:
        kind = event.get("type")
        delta = event.get("delta") or {}
        message = delta.get("message") or {}
        if kind == "message-start":
            self.completion_id = str(event.get("id") or "")
            return [self._chunk(delta={"role": "assistant", "content": ""})]
        if kind == "content-delta":
            text = (message.get("content") or {}).get("text")
            return [self._chunk(delta={"content": text})] if text else []
        if kind == "tool-call-start":
            call = message.get("tool_calls") or {}
            function = call.get("function") or {}
            fragment = {
                "index": int(event.get("index") or 0),
                "id": call.get("id"),
                "type": "function",
                "function": {"name": function.get("name"), "arguments": function.get("arguments") or ""},
            }
            return [self._chunk(delta={"tool_calls": [fragment]})]
        if kind == "tool-call-delta":
            arguments = ((message.get("tool_calls") or {}).get("function") or {}).get("arguments")
            fragment = {"index": int(event.get("index") or 0), "function": {"arguments": arguments or ""}}
            return [self._chunk(delta={"tool_calls": [fragment]})] if arguments else []
        if kind == "citation-start":
            citations = message.get("citations")
            return [{**self._chunk(delta={}), "citations": [citations]}] if citations else []
        if kind == "message-end":
            self.done = True
            finish = FINISH_REASONS.get(str(delta.get("finish_reason")), "stop")
            return [
                self._chunk(delta={}, finish_reason=finish),
                self._chunk(with_choice=False, usage=cohere_usage(delta.get("usage"))),
            ]
        return []  # content-start/-end, tool-plan-delta, tool-call-end, citation-end carry nothing to relay


__all__ = ["CohereStreamTranslator", "from_cohere_response", "to_cohere_request"]
