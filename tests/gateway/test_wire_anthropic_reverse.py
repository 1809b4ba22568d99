"""OpenAI answers re-shaped as Anthropic Messages, so Sophia can serve Anthropic clients."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from sophia.gateway._sse import SSEDecoder
from sophia.gateway.wire import (
    AnthropicStreamTranslator,
    OpenAIToAnthropicStream,
    collect_chunks,
    from_anthropic_response,
    to_anthropic_response,
)

DATA = Path(__file__).parent / "data"


def openai_chunks(name: str) -> list[dict[str, Any]]:
    decoder = SSEDecoder()
    events = decoder.feed((DATA / name).read_bytes()) + decoder.close()
    return [orjson.loads(e.data) for e in events if not e.is_done]


def anthropic_events(chunks: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    stream = OpenAIToAnthropicStream()
    events = [event for chunk in chunks for event in stream.feed(chunk)]
    return events + stream.finish()


def test_completion_becomes_a_message_and_translates_back_unchanged() -> None:
    message = orjson.loads((DATA / "anthropic_message_tool_use.json").read_bytes())
    completion = from_anthropic_response(message)
    back = to_anthropic_response(completion)
    assert back["content"] == message["content"]
    assert back["stop_reason"] == "tool_use"
    assert back["usage"]["output_tokens"] == 89 and back["usage"]["cache_read_input_tokens"] == 2000


def test_streamed_tool_calls_become_ordered_blocks_with_json_deltas() -> None:
    events = anthropic_events(openai_chunks("openai_stream_tool_calls.sse"))
    names = [name for name, _ in events]
    assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"]
    starts = [data for name, data in events if name == "content_block_start"]
    assert [(s["index"], s["content_block"]["name"]) for s in starts] == [(0, "get_weather"), (1, "get_time")]
    assert names.count("content_block_stop") == 2
    assert events[-2][1]["delta"]["stop_reason"] == "tool_use"
    assert events[-2][1]["usage"]["output_tokens"] == 31


def test_openai_stream_survives_a_round_trip_through_anthropic_events() -> None:
    for name in ("openai_stream_text.sse", "openai_stream_tool_calls.sse"):
        chunks = openai_chunks(name)
        translator = AnthropicStreamTranslator()
        again = [c for _, data in anthropic_events(chunks) for c in translator.feed(data)]
        original, round_tripped = collect_chunks(chunks), collect_chunks(again)
        assert round_tripped["choices"][0]["message"] == original["choices"][0]["message"]
        assert round_tripped["choices"][0]["finish_reason"] == original["choices"][0]["finish_reason"]
        assert round_tripped["usage"]["completion_tokens"] == original["usage"]["completion_tokens"]
