"""Anthropic Messages requests → OpenAI chat requests, so an Anthropic client's call goes through the one gateway."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from sophia.errors import InvalidInput
from sophia.gateway.wire.openai import JSONDict

_ROLES = ("user", "assistant")


def from_anthropic_request(body: Mapping[str, Any]) -> JSONDict:
    """Translate a `POST /v1/messages` body; `InvalidInput` names the field that cannot be served."""
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise InvalidInput("model: required, a model name, 'sophia/<task>' or 'auto'")
    max_tokens = body.get("max_tokens")
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise InvalidInput("max_tokens: required, a whole number of at least 1")
    source = body.get("messages")
    if not isinstance(source, list) or not source:
        raise InvalidInput("messages: required, a non-empty list of user and assistant turns")
    messages = _system(body.get("system"))
    for i, message in enumerate(source):
        messages += _message(message, f"messages[{i}]")
    out: JSONDict = {"model": model, "messages": messages, "max_tokens": max_tokens}
    out.update(_options(body))
    if body.get("stream") is True:
        out["stream"] = True
        out["stream_options"] = {"include_usage": True}
    return out


def _options(body: Mapping[str, Any]) -> JSONDict:
    """Sampling, stop sequences, tools and the end user: everything but the turns."""
    out: JSONDict = {}
    for name in ("temperature", "top_p"):
        if body.get(name) is not None:
            out[name] = _number(body[name], name)
    if body.get("stop_sequences"):
        out["stop"] = _strings(body["stop_sequences"], "stop_sequences")
    if body.get("tools"):
        out["tools"] = [_tool(tool, f"tools[{i}]") for i, tool in enumerate(_list(body["tools"], "tools"))]
    if body.get("tool_choice") is not None:
        out.update(_tool_choice(body["tool_choice"]))
    metadata = body.get("metadata")
    if isinstance(metadata, Mapping) and metadata.get("user_id"):
        out["user"] = str(metadata["user_id"])
    return out


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise InvalidInput(f"{where}: must be a list")
    return value


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"{where}: must be a number")
    return float(value)


def _strings(value: Any, where: str) -> list[str]:
    items = _list(value, where)
    if not all(isinstance(item, str) for item in items):
        raise InvalidInput(f"{where}: must be a list of strings")
    return items


def _text_of(content: Any, where: str) -> str:
    if isinstance(content, str):
        return content
    parts = []
    for i, block in enumerate(_list(content, where)):
        if not isinstance(block, Mapping) or block.get("type") != "text":
            raise InvalidInput(f"{where}[{i}]: only text blocks are allowed here")
        parts.append(str(block.get("text", "")))
    return "\n".join(parts)


def _system(system: Any) -> list[JSONDict]:
    if system is None or system == "" or system == []:
        return []
    return [{"role": "system", "content": _text_of(system, "system")}]


def _message(message: Any, where: str) -> list[JSONDict]:
    if not isinstance(message, Mapping) or message.get("role") not in _ROLES:
        raise InvalidInput(f"{where}.role: must be user or assistant")
    content = message.get("content")
    if isinstance(content, str):
        return [{"role": message["role"], "content": content}]
    blocks = _list(content, f"{where}.content")
    if message["role"] == "assistant":
        return [_assistant(blocks, where)]
    return _user(blocks, where)


def _assistant(blocks: Sequence[Any], where: str) -> JSONDict:
    texts: list[str] = []
    calls: list[JSONDict] = []
    for i, block in enumerate(blocks):
        kind = block.get("type") if isinstance(block, Mapping) else None
        if kind == "text":
            texts.append(str(block.get("text", "")))
        elif kind == "tool_use":
            arguments = orjson.dumps(block.get("input") or {}).decode()
            function = {"name": block.get("name"), "arguments": arguments}
            calls.append({"id": block.get("id"), "type": "function", "function": function})
        elif kind not in ("thinking", "redacted_thinking"):  # reasoning of an earlier turn is not replayed
            raise InvalidInput(f"{where}.content[{i}]: an assistant turn may hold text and tool_use blocks")
    out: JSONDict = {"role": "assistant", "content": "".join(texts) or None}
    if calls:
        out["tool_calls"] = calls
    return out


def _user(blocks: Sequence[Any], where: str) -> list[JSONDict]:
    """Tool results become `tool` messages (first, as OpenAI wants them after the calls); the rest one user turn."""
    results: list[JSONDict] = []
    parts: list[JSONDict] = []
    for i, block in enumerate(blocks):
        kind = block.get("type") if isinstance(block, Mapping) else None
        at = f"{where}.content[{i}]"
        if kind == "tool_result":
            results.append(_tool_result(block, at))
        elif kind == "text":
            parts.append({"type": "text", "text": str(block.get("text", ""))})
        elif kind == "image":
            parts.append(_image(block.get("source"), at))
        else:
            raise InvalidInput(f"{at}: a user turn may hold text, image and tool_result blocks, not {kind!r}")
    if parts:
        only_text = all(p["type"] == "text" for p in parts)
        content: Any = "\n".join(p["text"] for p in parts) if only_text else parts
        results.append({"role": "user", "content": content})
    return results


def _tool_result(block: Mapping[str, Any], where: str) -> JSONDict:
    content = block.get("content")
    text = "" if content is None else _text_of(content, f"{where}.content")
    if block.get("is_error"):
        text = f"Error: {text}"
    return {"role": "tool", "tool_call_id": block.get("tool_use_id"), "content": text}


def _image(source: Any, where: str) -> JSONDict:
    if isinstance(source, Mapping) and source.get("type") == "base64":
        url = f"data:{source.get('media_type', 'image/png')};base64,{source.get('data', '')}"
    elif isinstance(source, Mapping) and source.get("type") == "url":
        url = str(source.get("url", ""))
    else:
        raise InvalidInput(f"{where}.source: an image needs a base64 or url source")
    return {"type": "image_url", "image_url": {"url": url}}


def _tool(tool: Any, where: str) -> JSONDict:
    if not isinstance(tool, Mapping) or not isinstance(tool.get("name"), str):
        raise InvalidInput(f"{where}.name: a tool needs a name")
    if tool.get("type") not in (None, "custom"):
        raise InvalidInput(
            f"{where}.type: server tools ({tool.get('type')}) are not served; define a custom tool"
        )
    function: JSONDict = {
        "name": tool["name"],
        "parameters": tool.get("input_schema") or {"type": "object", "properties": {}},
    }
    if tool.get("description"):
        function["description"] = tool["description"]
    return {"type": "function", "function": function}


def _tool_choice(choice: Any) -> JSONDict:
    kind = choice.get("type") if isinstance(choice, Mapping) else None
    out: JSONDict
    if kind == "auto":
        out = {"tool_choice": "auto"}
    elif kind == "any":
        out = {"tool_choice": "required"}
    elif kind == "none":
        return {"tool_choice": "none"}
    elif kind == "tool" and isinstance(choice.get("name"), str):
        out = {"tool_choice": {"type": "function", "function": {"name": choice["name"]}}}
    else:
        raise InvalidInput("tool_choice: must be {type: auto|any|none} or {type: tool, name}")
    if choice.get("disable_parallel_tool_use") is True:
        out["parallel_tool_calls"] = False
    return out


__all__ = ["from_anthropic_request"]
