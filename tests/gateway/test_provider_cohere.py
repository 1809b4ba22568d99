"""Cohere's native v2 chat against its documented shapes: the request translation, plain and streamed answers
(text and tool calls), usage from `usage.tokens`, errors, and `/v2/embed`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from sophia.config import ProviderSettings
from sophia.gateway import ProviderAuthError, ProviderRateLimited, build_provider
from sophia.gateway.providers import ChatProvider
from sophia.gateway.wire import collect_chunks
from sophia.secrets import SecretResolver

KEY = "co-test-key-0000aaaa"
MODEL = "command-a-03-2025"
USAGE = {
    "billed_units": {"input_tokens": 9, "output_tokens": 12},
    "tokens": {"input_tokens": 215, "output_tokens": 12},
}
PLAIN = {
    "id": "c14c80c3-18eb-4519-9460-6c92edd8cfb4",
    "finish_reason": "COMPLETE",
    "message": {
        "role": "assistant",
        "content": [{"type": "text", "text": "Paris is the capital of France."}],
    },
    "usage": USAGE,
}
TOOL_PLAIN = {
    "id": "4a8a0d3e-1e2f-4c38-a3c5-0b8bcf5f4f6b",
    "finish_reason": "TOOL_CALL",
    "message": {
        "role": "assistant",
        "tool_plan": "I will look up the weather in Toronto.",
        "tool_calls": [
            {
                "id": "get_weather_1byjy32y4hvq",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"location":"Toronto"}'},
            }
        ],
    },
    "usage": USAGE,
}


def _events(*events: dict[str, Any]) -> bytes:
    return b"".join(b"event: " + e["type"].encode() + b"\ndata: " + orjson.dumps(e) + b"\n\n" for e in events)


TEXT_STREAM = _events(
    {
        "id": "29f14a5a-11de-4cae-9800-25e4747408ea",
        "type": "message-start",
        "delta": {
            "message": {
                "role": "assistant",
                "content": [],
                "tool_plan": "",
                "tool_calls": [],
                "citations": [],
            }
        },
    },
    {"type": "content-start", "index": 0, "delta": {"message": {"content": {"type": "text", "text": ""}}}},
    {"type": "content-delta", "index": 0, "delta": {"message": {"content": {"text": "Paris is "}}}},
    {
        "type": "content-delta",
        "index": 0,
        "delta": {"message": {"content": {"text": "the capital of France."}}},
    },
    {"type": "content-end", "index": 0},
    {"type": "message-end", "delta": {"finish_reason": "COMPLETE", "usage": USAGE}},
)
TOOL_STREAM = _events(
    {
        "id": "5b5e",
        "type": "message-start",
        "delta": {
            "message": {
                "role": "assistant",
                "content": [],
                "tool_plan": "",
                "tool_calls": [],
                "citations": [],
            }
        },
    },
    {"type": "tool-plan-delta", "delta": {"message": {"tool_plan": "I will look up the weather."}}},
    {
        "type": "tool-call-start",
        "index": 0,
        "delta": {
            "message": {
                "tool_calls": {
                    "id": "get_weather_nsz5zm3w56q3",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": ""},
                }
            }
        },
    },
    {
        "type": "tool-call-delta",
        "index": 0,
        "delta": {"message": {"tool_calls": {"function": {"arguments": '{"location":'}}}},
    },
    {
        "type": "tool-call-delta",
        "index": 0,
        "delta": {"message": {"tool_calls": {"function": {"arguments": '"Toronto"}'}}}},
    },
    {"type": "tool-call-end", "index": 0},
    {"type": "message-end", "delta": {"finish_reason": "TOOL_CALL", "usage": USAGE}},
)


class Upstream:
    def __init__(self, status: int, content: bytes, content_type: str = "application/json") -> None:
        self.status, self.content, self.content_type = status, content, content_type
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.status, content=self.content, headers={"content-type": self.content_type})

    @property
    def body(self) -> dict[str, Any]:
        return dict(orjson.loads(self.requests[-1].content))


def cohere(upstream: Upstream, monkeypatch: pytest.MonkeyPatch) -> ChatProvider:
    monkeypatch.setenv("CO_TEST_KEY", KEY)
    settings = ProviderSettings(name="co", kind="cohere", api_key="env:CO_TEST_KEY")
    return build_provider(settings, SecretResolver(Path("."), None), transport=httpx.MockTransport(upstream))


async def test_request_is_translated_to_v2_chat(monkeypatch: pytest.MonkeyPatch) -> None:
    upstream = Upstream(200, orjson.dumps(PLAIN))
    body = {
        "model": "x",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Weather in Toronto?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "t1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"location":"Toronto"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "t1", "content": '{"temp": 21}'},
        ],
        "tools": [
            {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
        ],
        "tool_choice": "required",
        "max_tokens": 100,
        "top_p": 0.9,
        "stop": "END",
        "temperature": 0.2,
        "response_format": {"type": "json_object"},
    }
    answer = await cohere(upstream, monkeypatch).complete(body, upstream_model=MODEL)
    request = upstream.requests[0]
    assert str(request.url) == "https://api.cohere.com/v2/chat"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    sent = upstream.body
    assert sent["model"] == MODEL and sent["stream"] is False
    assert sent["messages"][2] == {"role": "assistant", "tool_calls": body["messages"][2]["tool_calls"]}
    assert sent["messages"][3] == {"role": "tool", "tool_call_id": "t1", "content": '{"temp": 21}'}
    assert sent["tools"] == body["tools"] and sent["tool_choice"] == "REQUIRED"
    assert (sent["max_tokens"], sent["p"], sent["stop_sequences"], sent["temperature"]) == (
        100,
        0.9,
        ["END"],
        0.2,
    )
    assert sent["response_format"] == {"type": "json_object"}
    assert answer["object"] == "chat.completion"
    assert answer["choices"][0]["message"]["content"] == "Paris is the capital of France."
    assert answer["choices"][0]["finish_reason"] == "stop"
    assert answer["usage"] == {"prompt_tokens": 215, "completion_tokens": 12, "total_tokens": 227}


async def test_tool_calls_come_back_in_openai_shape(monkeypatch: pytest.MonkeyPatch) -> None:
    answer = await cohere(Upstream(200, orjson.dumps(TOOL_PLAIN)), monkeypatch).complete(
        {"model": "x", "messages": [{"role": "user", "content": "w?"}]}, upstream_model=MODEL
    )
    message = answer["choices"][0]["message"]
    assert answer["choices"][0]["finish_reason"] == "tool_calls"
    assert message["content"] is None
    assert message["tool_calls"] == [
        {
            "id": "get_weather_1byjy32y4hvq",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"location":"Toronto"}'},
        }
    ]


@pytest.mark.parametrize(
    ("stream", "expected"),
    [
        (TEXT_STREAM, {"content": "Paris is the capital of France.", "finish": "stop", "calls": []}),
        (
            TOOL_STREAM,
            {
                "content": "",
                "finish": "tool_calls",
                "calls": [("get_weather_nsz5zm3w56q3", '{"location":"Toronto"}')],
            },
        ),
    ],
)
async def test_stream_events_become_chunks_with_usage_last(
    stream: bytes, expected: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    upstream = Upstream(200, stream, "text/event-stream")
    chunks = [
        c
        async for c in cohere(upstream, monkeypatch).stream(
            {"model": "x", "messages": [{"role": "user", "content": "q"}]}, upstream_model=MODEL
        )
    ]
    assert upstream.body["stream"] is True
    whole = collect_chunks(chunks)
    message = whole["choices"][0]["message"]
    assert (message["content"] or "") == expected["content"]
    assert whole["choices"][0]["finish_reason"] == expected["finish"]
    assert [(c["id"], c["function"]["arguments"]) for c in message.get("tool_calls") or []] == expected[
        "calls"
    ]
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 12


async def test_a_stream_cut_before_message_end_is_interrupted(monkeypatch: pytest.MonkeyPatch) -> None:
    from sophia.gateway import StreamInterrupted

    cut = TEXT_STREAM[: TEXT_STREAM.index(b"event: content-end")]
    with pytest.raises(StreamInterrupted):
        async for _ in cohere(Upstream(200, cut, "text/event-stream"), monkeypatch).stream(
            {"model": "x", "messages": []}, upstream_model=MODEL
        ):
            pass


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (401, {"message": "invalid api token"}, ProviderAuthError),
        (
            429,
            {"message": "You are using a Trial key, which is limited to 10 API calls / minute."},
            ProviderRateLimited,
        ),
    ],
)
async def test_errors_are_typed_with_cohere_message(
    status: int, body: dict[str, str], error: type[Exception], monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(error) as caught:
        await cohere(Upstream(status, orjson.dumps(body)), monkeypatch).complete(
            {"model": "x", "messages": []}, upstream_model=MODEL
        )
    assert body["message"] in str(caught.value) and KEY not in str(caught.value)


async def test_embeddings_use_v2_embed(monkeypatch: pytest.MonkeyPatch) -> None:
    answer_body = {
        "id": "da6e531f",
        "embeddings": {"float": [[0.016, -0.008], [0.02, 0.5]]},
        "texts": ["hello", "goodbye"],
        "meta": {"api_version": {"version": "2"}, "billed_units": {"input_tokens": 2}},
        "response_type": "embeddings_by_type",
    }
    upstream = Upstream(200, orjson.dumps(answer_body))
    answer = await cohere(upstream, monkeypatch).embed(
        {"model": "e", "input": ["hello", "goodbye"]}, upstream_model="embed-v4.0"
    )
    assert upstream.requests[0].url.path == "/v2/embed"
    assert upstream.body["texts"] == ["hello", "goodbye"] and upstream.body["embedding_types"] == ["float"]
    assert [d["embedding"] for d in answer["data"]] == [[0.016, -0.008], [0.02, 0.5]]
    assert answer["usage"]["prompt_tokens"] == 2
