"""OpenAICompatibleProvider against MockTransport upstreams shaped like OpenAI's documented responses."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from sophia.gateway._errors import (
    ProviderAuthError,
    ProviderBadRequest,
    ProviderError,
    ProviderProtocolError,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
    StreamInterrupted,
)
from sophia.gateway.providers import ChatProvider, OpenAICompatibleProvider, Timeouts
from sophia.gateway.wire import collect_chunks

DATA = Path(__file__).parent / "data"
KEY = "sk-test-Zq8sWv1NotARealKey42"
BODY = {"model": "fast", "messages": [{"role": "user", "content": "Hi"}]}
Handler = Callable[[httpx.Request], httpx.Response]


def provider(handler: Handler, **timeouts: float) -> OpenAICompatibleProvider:
    return OpenAICompatibleProvider(
        "openai",
        "http://127.0.0.1:9/v1",
        api_key=KEY,
        headers={"x-portkey-provider": "openai"},
        timeouts=Timeouts(**timeouts),
        transport=httpx.MockTransport(handler),
    )


def sse(name: str) -> httpx.Response:
    return httpx.Response(
        200, content=(DATA / name).read_bytes(), headers={"content-type": "text/event-stream"}
    )


class SlowStream(httpx.AsyncByteStream):
    """Sends `chunks`, then hangs forever: a stalled upstream."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        import asyncio

        for chunk in self.chunks:
            yield chunk
        await asyncio.Event().wait()


async def test_complete_forwards_body_with_upstream_model_and_auth_headers() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=(DATA / "openai_chat_completion.json").read_bytes())

    p = provider(handler)
    assert isinstance(p, ChatProvider)
    out = await p.complete({**BODY, "stream": False, "temperature": 0.2}, upstream_model="gpt-4o")
    request = seen[0]
    assert request.url == "http://127.0.0.1:9/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["x-portkey-provider"] == "openai"
    sent = orjson.loads(request.content)
    assert sent == {"model": "gpt-4o", "messages": BODY["messages"], "temperature": 0.2}
    assert out["usage"]["total_tokens"] == 1163
    assert KEY not in repr(p)
    await p.aclose()


async def test_stream_asks_for_usage_and_ends_with_a_usage_chunk() -> None:
    seen: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(orjson.loads(request.content))
        return sse("openai_stream_text.sse")

    chunks = [c async for c in provider(handler).stream(BODY, upstream_model="gpt-4o-mini")]
    assert seen[0]["stream"] is True and seen[0]["stream_options"] == {"include_usage": True}
    assert chunks[-1]["usage"]["total_tokens"] == 12
    assert collect_chunks(chunks)["choices"][0]["message"]["content"] == "Hello there!"


async def test_streamed_tool_calls_pass_through_with_stable_indexes() -> None:
    chunks = [
        c
        async for c in provider(lambda r: sse("openai_stream_tool_calls.sse")).stream(
            BODY, upstream_model="m"
        )
    ]
    message = collect_chunks(chunks)["choices"][0]["message"]
    assert [c["id"] for c in message["tool_calls"]] == ["call_DdmO9pD3xa9XTPNJ32zg2hcA", "call_2nd0ne"]
    assert orjson.loads(message["tool_calls"][0]["function"]["arguments"]) == {"location": "Paris"}
    assert collect_chunks(chunks)["choices"][0]["finish_reason"] == "tool_calls"


async def test_stream_without_upstream_usage_still_ends_with_a_usage_chunk() -> None:
    raw = (DATA / "openai_stream_text.sse").read_text().split("\n\n")
    without_usage = "\n\n".join(part for part in raw if '"usage":{' not in part).encode()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=without_usage)

    chunks = [c async for c in provider(handler).stream(BODY, upstream_model="m")]
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"] is None


@pytest.mark.parametrize(
    ("status", "error_type", "retryable"),
    [
        (400, ProviderBadRequest, False),
        (401, ProviderAuthError, False),
        (403, ProviderAuthError, False),
        (404, ProviderBadRequest, False),
        (408, ProviderTimeout, True),
        (409, ProviderUnavailable, True),
        (422, ProviderBadRequest, False),
        (429, ProviderRateLimited, True),
        (500, ProviderUnavailable, True),
        (502, ProviderUnavailable, True),
        (503, ProviderUnavailable, True),
        (529, ProviderUnavailable, True),
    ],
)
async def test_each_error_status_maps_to_its_typed_error(
    status: int, error_type: type[ProviderError], retryable: bool
) -> None:
    body = {"error": {"message": f"Incorrect API key provided: {KEY}.", "type": "invalid_request_error"}}
    p = provider(lambda r: httpx.Response(status, json=body))
    with pytest.raises(error_type) as caught:
        await p.complete(BODY, upstream_model="m")
    error = caught.value
    assert type(error) is error_type
    assert error.retryable is retryable and error.status == status and error.provider == "openai"
    assert KEY not in str(error) and "Incorrect API key provided" in str(error)
    with pytest.raises(error_type):
        async for _ in p.stream(BODY, upstream_model="m"):
            pass


async def test_rate_limit_carries_retry_after_from_headers() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            429, headers={"retry-after-ms": "1500", "retry-after": "9"}, json={"error": "slow"}
        )

    with pytest.raises(ProviderRateLimited) as caught:
        await provider(handler).complete(BODY, upstream_model="m")
    assert caught.value.retry_after == 1.5


@pytest.mark.parametrize("content", [b"<html>Bad Gateway</html>", b"[1, 2]", b'{"object": "list"}'])
async def test_garbage_response_is_a_retryable_protocol_error(content: bytes) -> None:
    with pytest.raises(ProviderProtocolError) as caught:
        await provider(lambda r: httpx.Response(200, content=content)).complete(BODY, upstream_model="m")
    assert caught.value.retryable


async def test_invalid_json_chunk_in_a_stream_is_a_protocol_error() -> None:
    with pytest.raises(ProviderProtocolError):
        async for _ in provider(lambda r: httpx.Response(200, content=b"data: {nope\n\n")).stream(
            BODY, upstream_model="m"
        ):
            pass


async def test_connection_failure_is_unavailable_and_never_shows_the_key() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot connect with {request.headers['authorization']}")

    with pytest.raises(ProviderUnavailable) as caught:
        await provider(handler).complete(BODY, upstream_model="m")
    assert caught.value.retryable and KEY not in str(caught.value)


async def test_connect_timeout_is_a_connect_phase_timeout() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("timed out")

    with pytest.raises(ProviderTimeout) as caught:
        await provider(handler).complete(BODY, upstream_model="m")
    assert caught.value.phase == "connect" and caught.value.retryable


async def test_stream_cut_midway_raises_stream_interrupted() -> None:
    raw = (DATA / "openai_stream_text.sse").read_text().split("\n\n")
    cut = ("\n\n".join(raw[:2]) + "\n\n").encode()
    with pytest.raises(StreamInterrupted) as caught:
        async for _ in provider(lambda r: httpx.Response(200, content=cut)).stream(BODY, upstream_model="m"):
            pass
    assert caught.value.retryable


async def test_connection_dropped_mid_stream_raises_stream_interrupted() -> None:
    class Dropping(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            yield (DATA / "openai_stream_text.sse").read_bytes()[:400]
            raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")

    with pytest.raises(StreamInterrupted):
        async for _ in provider(lambda r: httpx.Response(200, stream=Dropping())).stream(
            BODY, upstream_model="m"
        ):
            pass


async def test_first_token_stall_raises_a_first_token_timeout() -> None:
    p = provider(lambda r: httpx.Response(200, stream=SlowStream([b": keep-alive\n\n"])), first_token=0.05)
    with pytest.raises(ProviderTimeout) as caught:
        async for _ in p.stream(BODY, upstream_model="m"):
            pass
    assert caught.value.phase == "first_token"


async def test_stall_between_chunks_raises_a_between_chunks_timeout() -> None:
    first = (DATA / "openai_stream_text.sse").read_bytes().split(b"\n\n")
    stream = SlowStream([first[0] + b"\n\n", first[1] + b"\n\n"])
    p = provider(lambda r: httpx.Response(200, stream=stream), between_chunks=0.05)
    received: list[dict[str, Any]] = []
    with pytest.raises(ProviderTimeout) as caught:
        async for chunk in p.stream(BODY, upstream_model="m"):
            received.append(chunk)
    assert caught.value.phase == "between_chunks" and len(received) == 2


async def test_embed_replaces_the_model_and_returns_vectors() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1/embeddings"
        assert orjson.loads(request.content)["model"] == "text-embedding-3-small"
        data = [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2]}]
        return httpx.Response(
            200, json={"object": "list", "data": data, "model": "x", "usage": {"prompt_tokens": 1}}
        )

    out = await provider(handler).embed(
        {"model": "embed", "input": "hi"}, upstream_model="text-embedding-3-small"
    )
    assert out["data"][0]["embedding"] == [0.1, 0.2]
