"""OpenAI Chat Completions ⇄ Anthropic Messages: requests and whole responses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from sophia.gateway._errors import RequestNotTranslatable
from sophia.gateway.wire.openai import JSONDict, ToolCall, Usage, make_completion, make_usage

DEFAULT_MAX_TOKENS = 4096
"""Anthropic requires `max_tokens`; used when the caller sets none."""

ANTHROPIC_VERSION = "2023-06-01"

STOP_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "pause_turn": "stop",
    "refusal": "content_filter",
}
_PROVIDER = "anthropic"


def _not_translatable(message: str) -> RequestNotTranslatable:
    return RequestNotTranslatable(message, provider=_PROVIDER)


def to_anthropic_request(body: Mapping[str, Any], *, upstream_model: str, stream: bool = False) -> JSONDict:
    """Translate an OpenAI chat request to an Anthropic Messages request."""
    if int(body.get("n") or 1) != 1:
        raise _not_translatable("Anthropic returns one choice per request; drop `n` or set it to 1.")
    system, messages = _translate_messages(body.get("messages") or ())
    system += _response_format_instruction(body.get("response_format"))
    max_tokens = body.get("max_completion_tokens") or body.get("max_tokens") or DEFAULT_MAX_TOKENS
    out: JSONDict = {"model": upstream_model, "max_tokens": int(max_tokens), "messages": messages}
    if system:
        out["system"] = "\n\n".join(system)
    if body.get("temperature") is not None:
        out["temperature"] = min(float(body["temperature"]), 1.0)  # OpenAI allows up to 2, Anthropic 1
    if body.get("top_p") is not None:
        out["top_p"] = body["top_p"]
    stop = body.get("stop")
    if stop:
        out["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    if body.get("tools"):
        out["tools"] = [_tool(tool) for tool in body["tools"]]
    choice = _tool_choice(body.get("tool_choice"), body.get("parallel_tool_calls"))
    if choice is not None and (out.get("tools") or choice["type"] == "none"):
        out["tool_choice"] = choice
    if body.get("user"):
        out["metadata"] = {"user_id": str(body["user"])}
    if stream:
        out["stream"] = True
    return out


def _translate_messages(source: Sequence[Mapping[str, Any]]) -> tuple[list[str], list[JSONDict]]:
    system: list[str] = []
    messages: list[JSONDict] = []
    for message in source:
        role = message.get("role")
        if role in ("system", "developer"):
            system.append(_plain_text(message.get("content")))
            continue
        if role == "tool":
            blocks = [_tool_result(message)]
            role = "user"
        elif role == "assistant":
            blocks = _assistant_blocks(message)
        elif role == "user":
            blocks = _content_blocks(message.get("content"))
        else:
            raise _not_translatable(
                f"Message role '{role}' has no Anthropic equivalent; use user or assistant."
            )
        if not blocks:
            continue
        if messages and messages[-1]["role"] == role:
            _merge_into(messages[-1]["content"], blocks)
        else:
            messages.append({"role": role, "content": blocks})
    return system, messages


def _merge_into(existing: list[JSONDict], blocks: list[JSONDict]) -> None:
    """Anthropic wants tool results first in a user turn, so they go before any text already there."""
    results = [b for b in blocks if b["type"] == "tool_result"]
    others = [b for b in blocks if b["type"] != "tool_result"]
    at = sum(1 for b in existing if b["type"] == "tool_result")
    existing[at:at] = results
    existing.extend(others)


def _plain_text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content if part.get("type") == "text")


def _content_blocks(content: Any) -> list[JSONDict]:
    if content is None or content == "":
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    blocks: list[JSONDict] = []
    for part in content:
        kind = part.get("type")
        if kind == "text":
            if part.get("text"):
                blocks.append({"type": "text", "text": part["text"]})
        elif kind == "image_url":
            blocks.append(_image_block(part["image_url"]))
        else:
            raise _not_translatable(
                f"Content part '{kind}' cannot be sent to Anthropic; send text or images."
            )
    return blocks


def _image_block(image_url: Any) -> JSONDict:
    url = image_url["url"] if isinstance(image_url, Mapping) else str(image_url)
    if url.startswith("data:"):
        header, _, data = url.partition(",")
        media_type = header[len("data:") :].split(";")[0] or "image/png"
        if ";base64" not in header:
            raise _not_translatable("Image data URLs must be base64-encoded (data:image/png;base64,...).")
        return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}
    return {"type": "image", "source": {"type": "url", "url": url}}


def _assistant_blocks(message: Mapping[str, Any]) -> list[JSONDict]:
    blocks = _content_blocks(message.get("content"))
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {}
        arguments = function.get("arguments") or "{}"
        try:
            parsed = orjson.loads(arguments) if isinstance(arguments, str) else arguments
        except orjson.JSONDecodeError:
            raise _not_translatable(
                f"Tool call '{call.get('id')}' has arguments that are not JSON; send a JSON object."
            ) from None
        blocks.append(
            {"type": "tool_use", "id": call.get("id"), "name": function.get("name"), "input": parsed}
        )
    return blocks


def _tool_result(message: Mapping[str, Any]) -> JSONDict:
    content = message.get("content")
    result: JSONDict = {"type": "tool_result", "tool_use_id": message.get("tool_call_id")}
    if isinstance(content, str) or content is None:
        result["content"] = content or ""
    else:
        result["content"] = _content_blocks(content)
    return result


def _tool(tool: Mapping[str, Any]) -> JSONDict:
    if tool.get("type", "function") != "function":
        raise _not_translatable(f"Tool type '{tool.get('type')}' cannot be sent to Anthropic; use functions.")
    function = tool.get("function") or {}
    out: JSONDict = {
        "name": function.get("name"),
        "input_schema": function.get("parameters") or {"type": "object", "properties": {}},
    }
    if function.get("description"):
        out["description"] = function["description"]
    return out


def _tool_choice(choice: Any, parallel: Any) -> JSONDict | None:
    if choice is None:
        out: JSONDict | None = {"type": "auto"} if parallel is False else None
    elif choice == "auto":
        out = {"type": "auto"}
    elif choice == "none":
        return {"type": "none"}
    elif choice == "required":
        out = {"type": "any"}
    elif isinstance(choice, Mapping) and choice.get("type") == "function":
        out = {"type": "tool", "name": (choice.get("function") or {}).get("name")}
    else:
        raise _not_translatable(
            f"tool_choice {choice!r} is not understood; use auto, none, required or a name."
        )
    if out is not None and parallel is False:
        out["disable_parallel_tool_use"] = True
    return out


def _response_format_instruction(response_format: Any) -> list[str]:
    """Anthropic has no JSON mode in this API version: ask for JSON in the system prompt (best effort)."""
    if not isinstance(response_format, Mapping):
        return []
    kind = response_format.get("type")
    if kind == "json_object":
        return ["Respond with a single JSON object and nothing else."]
    if kind == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema") or {}
        return [
            "Respond with a single JSON object that validates against this JSON Schema, and nothing else:\n"
            + orjson.dumps(schema).decode()
        ]
    return []


def anthropic_usage(usage: Mapping[str, Any]) -> Usage:
    """Anthropic counts cached prompt tokens apart from `input_tokens`; OpenAI counts them in the prompt."""
    cache_read = int(usage.get("cache_read_input_tokens") or 0)
    prompt = (
        int(usage.get("input_tokens") or 0) + int(usage.get("cache_creation_input_tokens") or 0) + cache_read
    )
    return make_usage(prompt, int(usage.get("output_tokens") or 0), cached_tokens=cache_read)


def from_anthropic_response(response: Mapping[str, Any]) -> JSONDict:
    """Translate an Anthropic Messages response to an OpenAI `chat.completion`."""
    texts: list[str] = []
    calls: list[ToolCall] = []
    for block in response.get("content") or ():
        if block.get("type") == "text":
            texts.append(block.get("text", ""))
        elif block.get("type") == "tool_use":
            calls.append(
                ToolCall(
                    id=block["id"],
                    type="function",
                    function={
                        "name": block["name"],
                        "arguments": orjson.dumps(block.get("input") or {}).decode(),
                    },
                )
            )
    text = "".join(texts)
    return make_completion(
        model=str(response.get("model", "")),
        content=text if text or not calls else None,
        tool_calls=calls or None,
        finish_reason=STOP_REASONS.get(str(response.get("stop_reason")), "stop"),
        usage=anthropic_usage(response.get("usage") or {}),
        completion_id=str(response.get("id") or "") or None,
    )


__all__ = [
    "ANTHROPIC_VERSION",
    "DEFAULT_MAX_TOKENS",
    "STOP_REASONS",
    "anthropic_usage",
    "from_anthropic_response",
    "to_anthropic_request",
]
