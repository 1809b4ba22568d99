"""OpenAI chat requests, responses and streams translated to and from Anthropic Messages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from sophia.gateway._errors import ProviderUnavailable, RequestNotTranslatable
from sophia.gateway._sse import SSEDecoder
from sophia.gateway.wire import AnthropicStreamTranslator, collect_chunks
from sophia.gateway.wire.anthropic import DEFAULT_MAX_TOKENS, from_anthropic_response, to_anthropic_request

DATA = Path(__file__).parent / "data"


def translate_stream(name: str) -> list[dict[str, Any]]:
    decoder = SSEDecoder()
    translator = AnthropicStreamTranslator()
    chunks: list[dict[str, Any]] = []
    for event in decoder.feed((DATA / name).read_bytes()) + decoder.close():
        chunks += translator.feed(orjson.loads(event.data))
    assert translator.done
    return chunks


def test_system_messages_move_to_system_and_max_tokens_gets_a_default() -> None:
    out = to_anthropic_request(
        {
            "model": "sonnet",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "developer", "content": [{"type": "text", "text": "Use French."}]},
                {"role": "user", "content": "Hi"},
            ],
        },
        upstream_model="claude-sonnet-4-5",
    )
    assert out["model"] == "claude-sonnet-4-5"
    assert out["system"] == "Be brief.\n\nUse French."
    assert out["messages"] == [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]
    assert out["max_tokens"] == DEFAULT_MAX_TOKENS
    assert "stream" not in out


def test_sampling_options_and_stop_map_to_anthropic_names() -> None:
    out = to_anthropic_request(
        {
            "messages": [{"role": "user", "content": "x"}],
            "max_completion_tokens": 77,
            "max_tokens": 5,
            "temperature": 1.7,
            "top_p": 0.9,
            "stop": "END",
            "user": "u-1",
        },
        upstream_model="m",
        stream=True,
    )
    assert out["max_tokens"] == 77
    assert out["temperature"] == 1.0
    assert out["top_p"] == 0.9
    assert out["stop_sequences"] == ["END"]
    assert out["metadata"] == {"user_id": "u-1"}
    assert out["stream"] is True


def test_tools_and_tool_history_become_tool_use_and_merged_tool_results() -> None:
    body = {
        "messages": [
            {"role": "user", "content": "Weather in Paris and the time?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "weather", "arguments": '{"c":"Paris"}'},
                    },
                    {"id": "call_2", "type": "function", "function": {"name": "time", "arguments": "{}"}},
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
            {"role": "tool", "tool_call_id": "call_2", "content": "12:00"},
            {"role": "user", "content": "Thanks, and tomorrow?"},
        ],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "weather",
                    "description": "Current weather",
                    "parameters": {"type": "object", "properties": {"c": {"type": "string"}}},
                },
            },
            {"type": "function", "function": {"name": "time"}},
        ],
        "tool_choice": "required",
        "parallel_tool_calls": False,
    }
    out = to_anthropic_request(body, upstream_model="m")
    assert out["tools"] == [
        {
            "name": "weather",
            "description": "Current weather",
            "input_schema": {"type": "object", "properties": {"c": {"type": "string"}}},
        },
        {"name": "time", "input_schema": {"type": "object", "properties": {}}},
    ]
    assert out["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}
    assistant, results = out["messages"][1], out["messages"][2]
    assert assistant == {
        "role": "assistant",
        "content": [
            {"type": "tool_use", "id": "call_1", "name": "weather", "input": {"c": "Paris"}},
            {"type": "tool_use", "id": "call_2", "name": "time", "input": {}},
        ],
    }
    assert len(out["messages"]) == 3
    assert results["role"] == "user"
    assert results["content"] == [
        {"type": "tool_result", "tool_use_id": "call_1", "content": "18C"},
        {"type": "tool_result", "tool_use_id": "call_2", "content": "12:00"},
        {"type": "text", "text": "Thanks, and tomorrow?"},
    ]


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("auto", {"type": "auto"}),
        ("none", {"type": "none"}),
        ("required", {"type": "any"}),
        ({"type": "function", "function": {"name": "weather"}}, {"type": "tool", "name": "weather"}),
    ],
)
def test_tool_choice_maps_each_openai_form(choice: Any, expected: dict[str, Any]) -> None:
    body = {
        "messages": [{"role": "user", "content": "x"}],
        "tools": [{"type": "function", "function": {"name": "weather"}}],
        "tool_choice": choice,
    }
    assert to_anthropic_request(body, upstream_model="m")["tool_choice"] == expected


def test_images_become_base64_or_url_sources() -> None:
    content = [
        {"type": "text", "text": "Compare"},
        {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQ"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png", "detail": "high"}},
    ]
    out = to_anthropic_request({"messages": [{"role": "user", "content": content}]}, upstream_model="m")
    assert out["messages"][0]["content"][1:] == [
        {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQ"}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.png"}},
    ]


def test_json_schema_response_format_is_asked_for_in_the_system_prompt() -> None:
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}}
    out = to_anthropic_request(
        {
            "messages": [{"role": "user", "content": "x"}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "a", "schema": schema}},
        },
        upstream_model="m",
    )
    assert orjson.dumps(schema).decode() in out["system"]


@pytest.mark.parametrize(
    "body",
    [
        {"messages": [{"role": "user", "content": "x"}], "n": 2},
        {"messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}]},
        {
            "messages": [
                {
                    "role": "assistant",
                    "tool_calls": [
                        {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{oops"}}
                    ],
                }
            ]
        },
    ],
)
def test_untranslatable_requests_raise_a_non_retryable_error(body: dict[str, Any]) -> None:
    with pytest.raises(RequestNotTranslatable) as caught:
        to_anthropic_request(body, upstream_model="m")
    assert caught.value.retryable is False


def test_response_with_tool_use_becomes_openai_tool_calls_and_usage_counts_cache() -> None:
    response = orjson.loads((DATA / "anthropic_message_tool_use.json").read_bytes())
    out = from_anthropic_response(response)
    assert out["object"] == "chat.completion"
    assert out["id"] == "msg_01Aq9w938a90dw8q"
    choice = out["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] == "I'll check the current weather in San Francisco for you."
    call = choice["message"]["tool_calls"][0]
    assert call["id"] == "toolu_01A09q90qw90lq917835lq9"
    assert call["function"]["name"] == "get_weather"
    assert orjson.loads(call["function"]["arguments"]) == {"location": "San Francisco, CA", "unit": "celsius"}
    assert out["usage"] == {
        "prompt_tokens": 472 + 100 + 2000,
        "completion_tokens": 89,
        "total_tokens": 472 + 100 + 2000 + 89,
        "prompt_tokens_details": {"cached_tokens": 2000},
    }


@pytest.mark.parametrize(
    ("stop_reason", "finish_reason"),
    [("end_turn", "stop"), ("max_tokens", "length"), ("stop_sequence", "stop"), ("tool_use", "tool_calls")],
)
def test_stop_reasons_map_to_finish_reasons(stop_reason: str, finish_reason: str) -> None:
    response = {
        "id": "m",
        "content": [{"type": "text", "text": "x"}],
        "stop_reason": stop_reason,
        "usage": {},
    }
    assert from_anthropic_response(response)["choices"][0]["finish_reason"] == finish_reason


def test_text_stream_becomes_chunks_ending_with_finish_and_usage() -> None:
    chunks = translate_stream("anthropic_stream_text.sse")
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert all(c["id"] == "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY" for c in chunks)
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == {
        "prompt_tokens": 25,
        "completion_tokens": 15,
        "total_tokens": 40,
        "prompt_tokens_details": {"cached_tokens": 0},
    }
    completion = collect_chunks(chunks)
    assert completion["choices"][0]["message"]["content"] == "Hello!"
    assert completion["choices"][0]["finish_reason"] == "stop"


def test_streamed_tool_use_keeps_index_id_and_name_on_the_first_fragment() -> None:
    chunks = translate_stream("anthropic_stream_tool_use.sse")
    fragments = [
        c["choices"][0]["delta"]["tool_calls"][0]
        for c in chunks
        if c["choices"] and "tool_calls" in c["choices"][0]["delta"]
    ]
    firsts = [f for f in fragments if "id" in f]
    assert [(f["index"], f["id"], f["function"]["name"]) for f in firsts] == [
        (0, "toolu_01T1x1fJ34qAmk2tNTrN7Up6", "get_weather"),
        (1, "toolu_02SecondCallXyz", "get_time"),
    ]
    later = [f for f in fragments if "id" not in f]
    assert all(set(f) == {"index", "function"} and set(f["function"]) == {"arguments"} for f in later)
    assert len([f for f in later if f["index"] == 0]) == 3  # the empty partial_json is dropped
    completion = collect_chunks(chunks)
    calls = completion["choices"][0]["message"]["tool_calls"]
    assert orjson.loads(calls[0]["function"]["arguments"]) == {
        "location": "San Francisco, CA",
        "unit": "fahrenheit",
    }
    assert orjson.loads(calls[1]["function"]["arguments"]) == {"tz": "PST"}
    assert completion["choices"][0]["message"]["content"] == "Okay, let me check the weather."
    assert completion["choices"][0]["finish_reason"] == "tool_calls"
    assert completion["usage"]["completion_tokens"] == 89


def test_error_event_mid_stream_raises_a_typed_error_instead_of_ending() -> None:
    decoder = SSEDecoder()
    translator = AnthropicStreamTranslator()
    delivered: list[dict[str, Any]] = []
    with pytest.raises(ProviderUnavailable) as caught:
        for event in decoder.feed((DATA / "anthropic_stream_error.sse").read_bytes()):
            delivered += translator.feed(orjson.loads(event.data))
    assert caught.value.retryable and caught.value.status == 529
    assert "Overloaded" in caught.value.message
    assert collect_chunks(delivered)["choices"][0]["message"]["content"] == "Partial"
    assert not translator.done
