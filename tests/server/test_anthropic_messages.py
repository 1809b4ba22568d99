"""`POST /v1/messages` driven by the official `anthropic` client against a real `sophia serve`."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx
import pytest

from tests.gateway.fault_server import ANSWER
from tests.server.conftest import COST_PER_REQUEST, Stack

WEATHER_TOOL: Any = {
    "name": "get_weather",
    "description": "The weather in a city.",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def _client(stack: Stack, user: str, *, bearer: bool = False) -> anthropic.Anthropic:
    key = stack.keys[user]
    if bearer:
        return anthropic.Anthropic(auth_token=key, base_url=stack.url, max_retries=0)
    return anthropic.Anthropic(api_key=key, base_url=stack.url, max_retries=0)


def test_a_plain_message_with_system_is_answered_and_recorded(stack: Stack) -> None:
    stack.faults.reset()
    before = stack.usage("bob")["total"]["requests"]
    with _client(stack, "bob") as client:
        message = client.messages.create(
            model="good",
            max_tokens=64,
            system="Answer briefly.",
            messages=[{"role": "user", "content": "hello"}],
        )
    assert message.type == "message" and message.role == "assistant"
    assert [block.type for block in message.content] == ["text"]
    assert message.content[0].text == ANSWER  # type: ignore[union-attr]
    assert message.stop_reason == "end_turn"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (1000, 500)
    upstream = stack.faults.bodies[-1]["messages"]
    assert upstream[0] == {"role": "system", "content": "Answer briefly."}
    assert upstream[1] == {"role": "user", "content": "hello"}
    stack.wait_for(lambda: stack.usage("bob")["total"]["requests"] == before + 1, "the message in the ledger")
    assert stack.usage("bob")["total"]["cost_usd"] >= COST_PER_REQUEST


def test_a_streamed_message_follows_anthropics_event_sequence(stack: Stack) -> None:
    with (
        _client(stack, "bob", bearer=True) as client,
        client.messages.stream(
            model="good", max_tokens=64, messages=[{"role": "user", "content": "hello"}]
        ) as stream,
    ):
        kinds = [event.type for event in stream]
        final = stream.get_final_message()
    assert kinds[0] == "message_start" and kinds[1] == "content_block_start"
    assert kinds[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert "text" in kinds  # the SDK's text events, one per text_delta
    assert final.content[0].text == ANSWER  # type: ignore[union-attr]
    assert final.stop_reason == "end_turn" and final.usage.output_tokens == 500


def test_tool_use_and_tool_result_round_trip(stack: Stack) -> None:
    with _client(stack, "bob") as client:
        _tool_round_trip(stack, client)


def _tool_round_trip(stack: Stack, client: anthropic.Anthropic) -> None:
    question: Any = {"role": "user", "content": "Weather in Paris?"}
    first = client.messages.create(model="tools", max_tokens=64, tools=[WEATHER_TOOL], messages=[question])
    assert first.stop_reason == "tool_use"
    call = first.content[0]
    assert call.type == "tool_use" and call.name == "get_weather" and call.input == {"city": "Paris"}

    with client.messages.stream(
        model="tools", max_tokens=64, tools=[WEATHER_TOOL], messages=[question]
    ) as stream:
        streamed = stream.get_final_message()
    assert streamed.content[0].type == "tool_use" and streamed.content[0].input == {"city": "Paris"}

    stack.faults.reset()
    answer: Any = {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "Sunny, 21 C"}],
    }
    client.messages.create(
        model="good",
        max_tokens=64,
        tools=[WEATHER_TOOL],
        messages=[question, {"role": "assistant", "content": first.content}, answer],  # type: ignore[list-item]
    )
    sent = stack.faults.bodies[-1]
    assert sent["tools"][0]["function"]["name"] == "get_weather"
    assert sent["messages"][1]["tool_calls"][0]["function"] == {
        "name": "get_weather",
        "arguments": '{"city":"Paris"}',
    }
    assert sent["messages"][2] == {"role": "tool", "tool_call_id": call.id, "content": "Sunny, 21 C"}


def test_errors_come_in_anthropics_shape(stack: Stack) -> None:
    bob = _client(stack, "bob")
    with bob, pytest.raises(anthropic.NotFoundError) as missing:
        bob.messages.create(model="no-such-model", max_tokens=8, messages=[{"role": "user", "content": "hi"}])
    assert missing.value.body["type"] == "error"  # type: ignore[index]
    assert missing.value.body["error"]["type"] == "not_found_error"  # type: ignore[index]
    assert "no-such-model" in missing.value.body["error"]["message"]  # type: ignore[index]

    wrong = anthropic.Anthropic(api_key="sph_aaaaaaaa_" + "x" * 43, base_url=stack.url, max_retries=0)
    with wrong, pytest.raises(anthropic.AuthenticationError):
        wrong.messages.create(model="good", max_tokens=8, messages=[{"role": "user", "content": "hi"}])

    bob = _client(stack, "bob")
    with bob, pytest.raises(anthropic.BadRequestError) as bad:
        bob.messages.create(
            model="good",
            max_tokens=8,
            messages=[{"role": "robot", "content": "hi"}],  # type: ignore[misc]
        )
    assert bad.value.body["error"]["message"] == "messages[0].role: must be user or assistant"  # type: ignore[index]

    raw = httpx.post(f"{stack.url}/v1/messages", json={"model": "good", "messages": []})
    assert raw.status_code == 401
    assert raw.json() == {
        "type": "error",
        "error": {"type": "authentication_error", "message": raw.json()["error"]["message"]},
    }


def test_budgets_apply_to_anthropic_clients(stack: Stack) -> None:
    with stack.client("alice") as alice:
        assert alice.put("/v1/budgets/user/carol", json={"monthly_usd": 0}).status_code == 200
    try:
        carol = _client(stack, "carol")
        with carol, pytest.raises(anthropic.RateLimitError) as refused:
            carol.messages.create(model="good", max_tokens=8, messages=[{"role": "user", "content": "hi"}])
        assert refused.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]
        assert int(refused.value.response.headers["retry-after"]) >= 1
    finally:
        with stack.client("alice") as alice:
            alice.delete("/v1/budgets/user/carol")
