"""Small per-upstream differences of OpenAI's wire, applied by `OpenAICompatibleProvider` around each call.

A kind that speaks OpenAI's Chat Completions is a base URL, an auth header and, at most, one of these hooks: the
request is reshaped before it leaves, the answer and each stream chunk after they arrive. The default changes
nothing, and a provider without quirks skips the hooks altogether.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

JSONDict = dict[str, Any]


class WireQuirks:
    """Identity hooks; `stream_usage=False` for servers that reject `stream_options`, `reports_cost` when the
    upstream's `usage.cost` is the request's price in USD (the ledger then records it, not the catalog's)."""

    stream_usage: bool = True
    reports_cost: bool = False

    def request(self, payload: JSONDict, *, stream: bool) -> JSONDict:
        return payload

    def response(self, response: JSONDict) -> JSONDict:
        return response

    def chunk(self, chunk: JSONDict) -> JSONDict:
        return chunk


def _without_reasoning_history(payload: JSONDict) -> JSONDict:
    """DeepSeek answers 400 when an earlier assistant turn carries its `reasoning_content`; drop it."""
    messages = payload.get("messages")
    if not isinstance(messages, list) or not any(
        isinstance(m, Mapping) and "reasoning_content" in m for m in messages
    ):
        return payload
    cleaned = [
        {k: v for k, v in m.items() if k != "reasoning_content"} if isinstance(m, Mapping) else m
        for m in messages
    ]
    return {**payload, "messages": cleaned}


class ReasoningQuirks(WireQuirks):
    """DeepSeek (and xAI's reasoning models): `reasoning_content` comes out, and must not go back in."""

    def request(self, payload: JSONDict, *, stream: bool) -> JSONDict:
        return _without_reasoning_history(payload)


class OpenRouterQuirks(WireQuirks):
    """Provider routing preferences go in the body as `provider`; `usage.cost` is the request's price in USD."""

    reports_cost = True

    def __init__(self, preferences: Mapping[str, Any] | None = None) -> None:
        self.preferences = dict(preferences or {})

    def request(self, payload: JSONDict, *, stream: bool) -> JSONDict:
        if self.preferences and "provider" not in payload:
            payload = {**payload, "provider": self.preferences}
        return payload


class GroqQuirks(WireQuirks):
    """Groq reports a stream's usage under `x_groq.usage` of its last chunk; lift it to where clients look."""

    def chunk(self, chunk: JSONDict) -> JSONDict:
        extra = chunk.get("x_groq")
        if isinstance(extra, Mapping) and extra.get("usage") and not chunk.get("usage"):
            chunk["usage"] = extra["usage"]
        return chunk


class MistralQuirks(WireQuirks):
    """Mistral refuses fields it does not know (422): no `stream_options` (usage comes anyway), `seed` is
    `random_seed`, `max_completion_tokens` is `max_tokens`, `user` is not accepted, `"required"` is `"any"`."""

    stream_usage = False

    def request(self, payload: JSONDict, *, stream: bool) -> JSONDict:
        out = dict(payload)
        out.pop("stream_options", None)
        out.pop("user", None)
        if "seed" in out:
            out["random_seed"] = out.pop("seed")
        if "max_completion_tokens" in out:
            limit = out.pop("max_completion_tokens")
            out.setdefault("max_tokens", limit)
        if out.get("tool_choice") == "required":
            out["tool_choice"] = "any"
        return out


class GeminiQuirks(WireQuirks):
    """Gemini's OpenAI-compatible stream can leave `index` off a tool call; OpenAI clients need it to assemble
    the call, so each call gets its position."""

    def chunk(self, chunk: JSONDict) -> JSONDict:
        for choice in chunk.get("choices") or ():
            calls = (choice.get("delta") or {}).get("tool_calls")
            for position, call in enumerate(calls or ()):
                if isinstance(call, dict) and "index" not in call:
                    call["index"] = position
        return chunk


class PerplexityQuirks(WireQuirks):
    """Sonar sends usage (and `citations` / `search_results`, passed through untouched) in its chunks without
    being asked, so `stream_options` is left out; `usage.cost.total_cost` includes the per-request search fee."""

    stream_usage = False
    reports_cost = True


__all__ = [
    "GeminiQuirks",
    "GroqQuirks",
    "MistralQuirks",
    "OpenRouterQuirks",
    "PerplexityQuirks",
    "ReasoningQuirks",
    "WireQuirks",
]
