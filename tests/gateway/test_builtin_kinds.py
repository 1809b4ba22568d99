"""Every built-in OpenAI-wire kind against its provider's documented shapes: the request it sends (URL, auth,
body quirks), plain and streamed answers with usage, tool calls, and typed errors carrying the upstream's message."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from sophia.config import ProviderSettings
from sophia.gateway import (
    ProviderAuthError,
    ProviderBadRequest,
    ProviderError,
    ProviderRateLimited,
    ProviderUnavailable,
    build_provider,
)
from sophia.gateway.providers import ChatProvider
from sophia.gateway.wire import collect_chunks
from sophia.secrets import SecretResolver
from tests.gateway.provider_shapes import (
    ANSWER,
    CITATIONS,
    KINDS,
    SEARCH_RESULTS,
    KindShapes,
    tool_completion,
)

KEY = "sk-kind-test-4242"
VIRTUAL_KEY = "vk-openai-prod-7777"
SELF_HOSTED = ("ollama", "vllm", "llamacpp")
BODY: dict[str, Any] = {
    "model": "x",
    "messages": [{"role": "user", "content": "What is the capital of France?"}],
}
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather for a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]


class Recorder:
    def __init__(self, answer: Callable[[httpx.Request], httpx.Response]) -> None:
        self.answer = answer
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answer(request)

    @property
    def body(self) -> dict[str, Any]:
        return dict(orjson.loads(self.requests[-1].content))


def build(kind: str, recorder: Recorder, monkeypatch: pytest.MonkeyPatch, **settings: Any) -> ChatProvider:
    monkeypatch.setenv("KIND_TEST_KEY", KEY)
    monkeypatch.setenv("KIND_TEST_VK", VIRTUAL_KEY)
    options: dict[str, Any] = {"name": f"my-{kind}", "kind": kind}
    if kind not in SELF_HOSTED:
        options["api_key"] = "env:KIND_TEST_KEY"
    if kind == "portkey":
        options.update(virtual_key="env:KIND_TEST_VK", catalog="openai")
    options.update(settings)
    return build_provider(
        ProviderSettings(**options), SecretResolver(Path("."), None), transport=httpx.MockTransport(recorder)
    )


def json_answer(payload: Any, status: int = 200) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(
        status, content=orjson.dumps(payload), headers={"content-type": "application/json"}
    )


def sse_answer(raw: bytes) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(200, content=raw, headers={"content-type": "text/event-stream"})


async def stream_all(provider: ChatProvider, body: dict[str, Any], model: str) -> list[dict[str, Any]]:
    return [chunk async for chunk in provider.stream(body, upstream_model=model)]


KIND_IDS = sorted(KINDS)


@pytest.mark.parametrize("kind", KIND_IDS)
async def test_plain_completion_reaches_the_documented_url_with_its_auth(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    shapes = KINDS[kind]
    recorder = Recorder(json_answer(shapes.plain))
    provider = build(kind, recorder, monkeypatch)
    answer = await provider.complete(BODY, upstream_model=shapes.model)
    request = recorder.requests[0]
    assert request.url.path == shapes.path
    header, value = shapes.auth
    assert request.headers.get(header, "") == value
    if kind == "portkey":
        assert request.headers["x-portkey-virtual-key"] == VIRTUAL_KEY
        assert "authorization" not in request.headers
    assert recorder.body["model"] == shapes.model and "stream" not in recorder.body
    assert answer["choices"][0]["message"]["content"] == ANSWER
    assert answer["usage"] == shapes.plain["usage"]
    await provider.aclose()


@pytest.mark.parametrize("kind", KIND_IDS)
async def test_stream_assembles_the_answer_and_ends_with_usage(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    shapes = KINDS[kind]
    recorder = Recorder(sse_answer(shapes.stream))
    provider = build(kind, recorder, monkeypatch)
    chunks = await stream_all(provider, BODY, shapes.model)
    assert recorder.body["stream"] is True
    assert ("stream_options" in recorder.body) is shapes.stream_options
    whole = collect_chunks(chunks)
    assert whole["choices"][0]["message"]["content"].replace(" [1]", "") == ANSWER
    assert whole["choices"][0]["finish_reason"] == "stop"
    usage = next(c["usage"] for c in reversed(chunks) if c.get("usage"))
    assert usage["prompt_tokens"] == shapes.expected_usage["prompt_tokens"]
    assert usage["completion_tokens"] == shapes.expected_usage["completion_tokens"]
    await provider.aclose()


@pytest.mark.parametrize("kind", sorted(k for k in KINDS if k != "perplexity"))
async def test_tools_are_sent_and_tool_calls_come_back(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    shapes = KINDS[kind]
    recorder = Recorder(json_answer(tool_completion(shapes.model)))
    provider = build(kind, recorder, monkeypatch)
    answer = await provider.complete(
        {**BODY, "tools": TOOLS, "tool_choice": "auto"}, upstream_model=shapes.model
    )
    assert recorder.body["tools"] == TOOLS
    call = answer["choices"][0]["message"]["tool_calls"][0]
    assert call["function"] == {"name": "get_weather", "arguments": '{"city": "Paris"}'}
    assert answer["choices"][0]["finish_reason"] == "tool_calls"
    await provider.aclose()


EXPECTED_ERROR: dict[int, type[ProviderError]] = {
    400: ProviderBadRequest,
    401: ProviderAuthError,
    402: ProviderBadRequest,
    404: ProviderBadRequest,
    422: ProviderBadRequest,
    429: ProviderRateLimited,
    503: ProviderUnavailable,
}


@pytest.mark.parametrize("kind", KIND_IDS)
async def test_errors_are_typed_and_carry_the_upstream_message_not_the_key(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    shapes: KindShapes = KINDS[kind]
    recorder = Recorder(lambda request: httpx.Response(shapes.error_status, content=shapes.error_body))
    provider = build(kind, recorder, monkeypatch)
    for call in (
        provider.complete(BODY, upstream_model=shapes.model),
        stream_all(provider, BODY, shapes.model),
    ):
        with pytest.raises(ProviderError) as caught:
            await call
        assert type(caught.value) is EXPECTED_ERROR[shapes.error_status]
        assert caught.value.status == shapes.error_status
        assert shapes.error_text in caught.value.message
        assert KEY not in caught.value.message and VIRTUAL_KEY not in caught.value.message
    await provider.aclose()


# -- what sets each kind apart -----------------------------------------------------------------------------------


async def test_openrouter_sends_attribution_headers_and_routing_preferences(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    recorder = Recorder(json_answer(KINDS["openrouter"].plain))
    preferences = {"order": ["anthropic", "openai"], "allow_fallbacks": False, "sort": "price"}
    provider = build(
        "openrouter",
        recorder,
        monkeypatch,
        app_url="https://sophia.example",
        app_name="Sophia",
        preferences=preferences,
    )
    await provider.complete(BODY, upstream_model="openai/gpt-4o-mini")
    request = recorder.requests[0]
    assert request.headers["http-referer"] == "https://sophia.example"
    assert request.headers["x-title"] == "Sophia"
    assert recorder.body["provider"] == preferences
    assert provider.reports_cost is True
    # A caller's own `provider` object wins over the configured preferences.
    await provider.complete({**BODY, "provider": {"only": ["groq"]}}, upstream_model="openai/gpt-4o-mini")
    assert recorder.body["provider"] == {"only": ["groq"]}


async def test_deepseek_reasoning_is_relayed_and_never_sent_back(monkeypatch: pytest.MonkeyPatch) -> None:
    shapes = KINDS["deepseek"]
    recorder = Recorder(sse_answer(shapes.stream))
    provider = build("deepseek", recorder, monkeypatch)
    history = {
        **BODY,
        "messages": [
            {"role": "user", "content": "9.11 or 9.8?"},
            {"role": "assistant", "content": "9.8", "reasoning_content": "Compare decimals."},
            {"role": "user", "content": "And the capital of France?"},
        ],
    }
    chunks = await stream_all(provider, history, shapes.model)
    assert all("reasoning_content" not in m for m in recorder.body["messages"])
    whole = collect_chunks(chunks)
    assert whole["choices"][0]["message"]["reasoning_content"] == "The user asks for France's capital."
    plain = await build("deepseek", Recorder(json_answer(shapes.plain)), monkeypatch).complete(
        BODY, upstream_model=shapes.model
    )
    assert plain["choices"][0]["message"]["reasoning_content"] == "The user asks for France's capital."
    assert plain["usage"]["prompt_cache_miss_tokens"] == 14


async def test_perplexity_citations_and_search_results_reach_the_caller(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shapes = KINDS["perplexity"]
    provider = build("perplexity", Recorder(json_answer(shapes.plain)), monkeypatch)
    plain = await provider.complete(BODY, upstream_model="sonar")
    assert plain["citations"] == CITATIONS and plain["search_results"] == SEARCH_RESULTS
    chunks = await stream_all(
        build("perplexity", Recorder(sse_answer(shapes.stream)), monkeypatch), BODY, "sonar"
    )
    whole = collect_chunks(chunks)
    assert whole["citations"] == CITATIONS and whole["search_results"] == SEARCH_RESULTS


async def test_groq_stream_usage_from_x_groq_is_lifted_to_usage(monkeypatch: pytest.MonkeyPatch) -> None:
    chunks = await stream_all(
        build("groq", Recorder(sse_answer(KINDS["groq"].stream)), monkeypatch),
        BODY,
        "llama-3.3-70b-versatile",
    )
    assert chunks[-1]["usage"]["completion_tokens"] == 8
    assert chunks[-1]["x_groq"]["id"] == "req_01jb"


async def test_mistral_gets_its_own_field_names(monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = Recorder(sse_answer(KINDS["mistral"].stream))
    provider = build("mistral", recorder, monkeypatch)
    body = {
        **BODY,
        "seed": 7,
        "max_completion_tokens": 64,
        "user": "u-1",
        "tools": TOOLS,
        "tool_choice": "required",
    }
    await stream_all(provider, body, "mistral-small-latest")
    sent = recorder.body
    assert sent["random_seed"] == 7 and "seed" not in sent
    assert sent["max_tokens"] == 64 and "max_completion_tokens" not in sent
    assert "user" not in sent and "stream_options" not in sent
    assert sent["tool_choice"] == "any"
    assert body["seed"] == 7  # the caller's body is not changed


async def test_gemini_stream_tool_calls_without_index_are_numbered(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.gateway.provider_shapes import chunk, sse

    calls = [
        {
            "id": "c1",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
        },
        {"id": "c2", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Rome"}'}},
    ]
    raw = sse(
        chunk(
            "gemini-2.5-flash",
            {"role": "assistant", "tool_calls": calls},
            "tool_calls",
            usage={"prompt_tokens": 5, "completion_tokens": 9, "total_tokens": 14},
        )
    )
    chunks = await stream_all(
        build("gemini", Recorder(sse_answer(raw)), monkeypatch), {**BODY, "tools": TOOLS}, "gemini-2.5-flash"
    )
    whole = collect_chunks(chunks)
    assert [c["function"]["arguments"] for c in whole["choices"][0]["message"]["tool_calls"]] == [
        '{"city":"Paris"}',
        '{"city":"Rome"}',
    ]


async def test_a_base_url_override_is_used_for_a_builtin_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = Recorder(json_answer(KINDS["vllm"].plain))
    provider = build(
        "vllm", recorder, monkeypatch, base_url="http://gpu-box.internal:9000/v1", api_key="env:KIND_TEST_KEY"
    )
    await provider.complete(BODY, upstream_model="Qwen/Qwen2.5-7B-Instruct")
    assert str(recorder.requests[0].url) == "http://gpu-box.internal:9000/v1/chat/completions"
    assert recorder.requests[0].headers["authorization"] == f"Bearer {KEY}"
