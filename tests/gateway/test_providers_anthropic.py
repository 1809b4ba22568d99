"""AnthropicProvider against MockTransport upstreams shaped like Anthropic's documented responses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from sophia.gateway._errors import (
    ProviderBadRequest,
    ProviderProtocolError,
    ProviderRateLimited,
    ProviderUnavailable,
    StreamInterrupted,
)
from sophia.gateway.providers import AnthropicProvider, ChatProvider, Timeouts
from sophia.gateway.wire import collect_chunks

DATA = Path(__file__).parent / "data"
KEY = "sk-ant-api03-NotARealKey-7731"
BODY = {
    "model": "smart",
    "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
}


def provider(handler: Any, **timeouts: float) -> AnthropicProvider:
    return AnthropicProvider(
        base_url="http://127.0.0.1:9/v1",
        api_key=KEY,
        timeouts=Timeouts(**timeouts),
        transport=httpx.MockTransport(handler),
    )


def sse(name: str) -> httpx.Response:
    return httpx.Response(
        200, content=(DATA / name).read_bytes(), headers={"content-type": "text/event-stream"}
    )


async def test_complete_sends_a_messages_request_with_anthropic_auth() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=(DATA / "anthropic_message_tool_use.json").read_bytes())

    p = provider(handler)
    assert isinstance(p, ChatProvider)
    out = await p.complete(BODY, upstream_model="claude-sonnet-4-5")
    request = seen[0]
    assert request.url == "http://127.0.0.1:9/v1/messages"
    assert request.headers["x-api-key"] == KEY
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in request.headers
    sent = orjson.loads(request.content)
    assert sent["system"] == "Be brief." and sent["model"] == "claude-sonnet-4-5" and "stream" not in sent
    assert out["choices"][0]["finish_reason"] == "tool_calls"
    assert out["usage"]["prompt_tokens"] == 2572
    await p.aclose()


async def test_stream_translates_tool_use_events_and_ends_with_usage() -> None:
    seen: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(orjson.loads(request.content))
        return sse("anthropic_stream_tool_use.sse")

    chunks = [c async for c in provider(handler).stream(BODY, upstream_model="m")]
    assert seen[0]["stream"] is True
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 89
    calls = collect_chunks(chunks)["choices"][0]["message"]["tool_calls"]
    assert [c["function"]["name"] for c in calls] == ["get_weather", "get_time"]


async def test_error_event_after_text_raises_stream_interrupted_keeping_the_cause() -> None:
    received: list[dict[str, Any]] = []
    with pytest.raises(StreamInterrupted) as caught:
        async for chunk in provider(lambda r: sse("anthropic_stream_error.sse")).stream(
            BODY, upstream_model="m"
        ):
            received.append(chunk)
    assert isinstance(caught.value.__cause__, ProviderUnavailable)
    assert caught.value.retryable and "Overloaded" in caught.value.message
    assert collect_chunks(received)["choices"][0]["message"]["content"] == "Partial"


async def test_error_event_before_any_chunk_raises_the_mapped_error() -> None:
    raw = (
        b'event: error\ndata: {"type": "error", "error": {"type": "rate_limit_error", "message": "Slow"}}\n\n'
    )
    with pytest.raises(ProviderRateLimited):
        async for _ in provider(lambda r: httpx.Response(200, content=raw)).stream(BODY, upstream_model="m"):
            pass


async def test_stream_without_message_stop_raises_stream_interrupted() -> None:
    raw = (DATA / "anthropic_stream_text.sse").read_bytes().split(b"event: message_delta")[0]
    with pytest.raises(StreamInterrupted):
        async for _ in provider(lambda r: httpx.Response(200, content=raw)).stream(BODY, upstream_model="m"):
            pass


async def test_overloaded_529_is_retryable_and_hides_the_key() -> None:
    body = {"type": "error", "error": {"type": "overloaded_error", "message": f"Overloaded ({KEY})"}}
    with pytest.raises(ProviderUnavailable) as caught:
        await provider(lambda r: httpx.Response(529, json=body)).complete(BODY, upstream_model="m")
    assert caught.value.retryable and caught.value.status == 529 and KEY not in str(caught.value)


async def test_html_error_page_with_200_is_a_protocol_error() -> None:
    with pytest.raises(ProviderProtocolError):
        await provider(lambda r: httpx.Response(200, content=b"<html></html>")).complete(
            BODY, upstream_model="m"
        )


async def test_embeddings_are_refused_with_a_clear_error() -> None:
    with pytest.raises(ProviderBadRequest, match="no embeddings API"):
        await provider(lambda r: httpx.Response(500)).embed({"input": "x"}, upstream_model="m")
