"""ScriptedProvider: the real-code double the gateway's tests and docs use."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from sophia.gateway import providers, wire
from sophia.gateway._errors import ProviderBadRequest, ProviderRateLimited, ProviderTimeout, StreamInterrupted
from sophia.gateway.providers import ChatProvider, ScriptedProvider, ScriptedReply, ScriptedToolCall, Timeouts
from sophia.gateway.wire import collect_chunks

BODY = {"model": "m", "messages": [{"role": "user", "content": "what is two plus two"}]}


async def drain(provider: ScriptedProvider) -> list[dict[str, Any]]:
    return [chunk async for chunk in provider.stream(BODY, upstream_model="up")]


async def test_text_replies_are_answered_in_order_and_requests_recorded() -> None:
    p = ScriptedProvider(["four", "five"])
    assert isinstance(p, ChatProvider)
    first = await p.complete(BODY, upstream_model="up")
    second = await p.complete(BODY, upstream_model="up")
    assert first["choices"][0]["message"]["content"] == "four"
    assert second["choices"][0]["message"]["content"] == "five"
    assert first["model"] == "up"
    assert first["usage"] == {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6}
    assert p.calls == [BODY, BODY]
    with pytest.raises(ProviderBadRequest, match="ran out of replies"):
        await p.complete(BODY, upstream_model="up")


async def test_a_function_script_sees_the_body() -> None:
    p = ScriptedProvider(lambda body: body["messages"][-1]["content"].upper())
    out = await p.complete(BODY, upstream_model="up")
    assert out["choices"][0]["message"]["content"] == "WHAT IS TWO PLUS TWO"


async def test_streamed_text_is_split_and_reassembles_with_usage_last() -> None:
    chunks = await drain(ScriptedProvider("The answer is four."))
    assert len([c for c in chunks if c["choices"] and c["choices"][0]["delta"].get("content")]) == 4
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 4
    assert collect_chunks(chunks)["choices"][0]["message"]["content"] == "The answer is four."


async def test_tool_calls_stream_as_argument_fragments_and_complete_as_json() -> None:
    reply = ScriptedReply(
        tool_calls=[ScriptedToolCall("add", {"a": 2, "b": 2, "note": "long enough"}, id="c1")]
    )
    chunks = await drain(ScriptedProvider([reply]))
    fragments = [
        c["choices"][0]["delta"]["tool_calls"][0]
        for c in chunks
        if c["choices"] and "tool_calls" in c["choices"][0]["delta"]
    ]
    assert fragments[0] == {
        "index": 0,
        "id": "c1",
        "type": "function",
        "function": {"name": "add", "arguments": ""},
    }
    assert len(fragments) > 2
    message = collect_chunks(chunks)["choices"][0]
    assert message["finish_reason"] == "tool_calls"
    assert orjson.loads(message["message"]["tool_calls"][0]["function"]["arguments"])["b"] == 2
    plain = await ScriptedProvider([reply]).complete(BODY, upstream_model="up")
    assert plain["choices"][0]["message"]["content"] is None
    assert plain["choices"][0]["message"]["tool_calls"][0]["id"] == "c1"


async def test_scripted_exceptions_are_raised_for_both_calls_and_streams() -> None:
    error = ProviderRateLimited("slow down", provider="scripted", status=429, retry_after=2.0)
    p = ScriptedProvider([error, error])
    with pytest.raises(ProviderRateLimited):
        await p.complete(BODY, upstream_model="up")
    with pytest.raises(ProviderRateLimited):
        await drain(p)


async def test_cut_after_breaks_the_stream_with_partial_output_delivered() -> None:
    p = ScriptedProvider([ScriptedReply(text="one two three four", cut_after=3)])
    received: list[dict[str, Any]] = []
    with pytest.raises(StreamInterrupted):
        async for chunk in p.stream(BODY, upstream_model="up"):
            received.append(chunk)
    assert len(received) == 3


async def test_stall_before_first_chunk_hits_the_first_token_timeout() -> None:
    p = ScriptedProvider([ScriptedReply(text="late", stall_at=0)], timeouts=Timeouts(first_token=0.02))
    with pytest.raises(ProviderTimeout) as caught:
        await drain(p)
    assert caught.value.phase == "first_token"


async def test_stall_mid_stream_hits_the_between_chunks_timeout() -> None:
    p = ScriptedProvider([ScriptedReply(text="a b c", stall_at=3)], timeouts=Timeouts(between_chunks=0.02))
    with pytest.raises(ProviderTimeout) as caught:
        await drain(p)
    assert caught.value.phase == "between_chunks"


async def test_stalled_plain_call_hits_the_total_timeout() -> None:
    p = ScriptedProvider([ScriptedReply(stall_at=0)], timeouts=Timeouts(total=0.02))
    with pytest.raises(ProviderTimeout) as caught:
        await p.complete(BODY, upstream_model="up")
    assert caught.value.phase == "total"


async def test_whole_completion_dicts_are_returned_and_streamed() -> None:
    completion = wire.collect_chunks(await drain(ScriptedProvider("hello world")))
    p = ScriptedProvider([completion, completion])
    assert await p.complete(BODY, upstream_model="up") == completion
    assert collect_chunks(await drain(p))["choices"][0]["message"]["content"] == "hello world"


async def test_embeddings_are_deterministic_unit_vectors() -> None:
    p = ScriptedProvider([], embedding_dimensions=16)
    out = await p.embed({"input": ["cat", "dog", "cat"]}, upstream_model="e")
    vectors = [d["embedding"] for d in out["data"]]
    assert vectors[0] == vectors[2] != vectors[1]
    assert abs(sum(v * v for v in vectors[0]) - 1.0) < 1e-9 and len(vectors[0]) == 16


def test_public_names_are_exported_and_importable() -> None:
    for module in (providers, wire):
        assert sorted(module.__all__) == sorted(set(module.__all__))
        for name in module.__all__:
            assert getattr(module, name) is not None
