"""Running one validated tool call: time limit, error wrapping, JSON output and the output-size limit."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from sophia.errors import SophiaError
from sophia.observability import redactor
from sophia.tools._errors import ToolFailed, ToolTimeout
from sophia.tools._model import Tool, ToolContext, ToolResult
from sophia.tools._redaction import redact_text

__all__ = ["Output", "call_tool", "render_output", "truncate_bytes"]

_MAX_ERROR_CHARS = 600


@dataclass(frozen=True, slots=True)
class Output:
    value: Any
    text: str
    truncated: bool
    before: Any
    after: Any


def truncate_bytes(text: str, limit: int) -> tuple[str, bool]:
    """Cut `text` to `limit` UTF-8 bytes with a marker saying how much was dropped."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text, False
    kept = data[:limit].decode("utf-8", errors="ignore")
    return f"{kept}\n…[output truncated: {limit} of {len(data)} bytes shown]", True


def _jsonable(value: Any) -> Any:
    return to_jsonable_python(value, fallback=repr)


def _redact_known(value: Any) -> Any:
    """Known secret values never go back to a model; other text is left as the tool produced it."""
    if isinstance(value, str):
        return redactor.redact(value)
    if isinstance(value, dict):
        return {k: _redact_known(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_known(v) for v in value]
    return value


def render_output(raw: Any, limit: int) -> Output:
    before = after = None
    if isinstance(raw, ToolResult):
        raw, before, after = raw.value, _jsonable(raw.before), _jsonable(raw.after)
    value = _redact_known(_jsonable(raw))
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text, truncated = truncate_bytes(text, limit)
    return Output(text if truncated else value, text, truncated, before, after)


def _failure_message(tool: Tool, error: BaseException) -> str:
    reason = error.message if isinstance(error, SophiaError) else f"{type(error).__name__}: {error}"
    reason = redact_text(reason)[:_MAX_ERROR_CHARS]
    return f"tool {tool.name} failed: {reason}"


async def call_tool(
    tool: Tool, arguments: BaseModel, context: ToolContext, *, timeout: float, output_limit: int
) -> Output:
    """Run the tool (sync tools in a thread) within `timeout` seconds; any exception becomes ToolFailed."""
    kwargs = {name: getattr(arguments, name) for name in type(arguments).model_fields}
    if tool.context_parameter is not None:
        kwargs[tool.context_parameter] = context
    limit = tool.timeout or timeout
    scope = asyncio.timeout(limit)
    try:
        async with scope:
            if tool.is_async:
                raw = await tool.function(**kwargs)
            else:
                raw = await asyncio.to_thread(tool.function, **kwargs)
    except asyncio.CancelledError:
        raise
    except Exception as error:
        if isinstance(error, TimeoutError) and scope.expired():
            raise ToolTimeout(
                f"tool {tool.name} did not finish within {limit:g} seconds and was stopped", tool.name
            ) from None
        reason = error.code if isinstance(error, SophiaError) else None
        raise ToolFailed(_failure_message(tool, error), tool.name, reason) from None
    return render_output(raw, output_limit)
