"""The programmatic side: the chat WebSocket, /metrics, and per-key rate limits on the model API."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx2  # the anthropic SDK's HTTP client
import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from sophia.accounts import Role
from sophia.server.web import WebOptions
from tests.web.conftest import WebStack


@pytest.fixture
def web_options() -> WebOptions:
    return WebOptions(requests_per_minute_key=3, requests_per_minute_user=0)


async def _key(stack: WebStack, name: str, role: Role) -> str:
    user = await stack.services.accounts.create_user(name, role)
    return (await stack.services.accounts.create_api_key(user.id, "k"))[1]


async def test_metrics_need_an_admin_and_count_model_tokens(stack: WebStack) -> None:
    admin_key = await _key(stack, "root", Role.ADMIN)
    member_key = await _key(stack, "mem", Role.MEMBER)
    async with stack.client() as client:
        anonymous = await client.get("/metrics")
        member = await client.get("/metrics", headers={"authorization": f"Bearer {member_key}"})
        chat = {"model": "local", "messages": [{"role": "user", "content": "hi"}]}
        assert (
            await client.post(
                "/v1/chat/completions", json=chat, headers={"authorization": f"Bearer {member_key}"}
            )
        ).status_code == 200
        admin = await client.get("/metrics", headers={"authorization": f"Bearer {admin_key}"})
    assert anonymous.status_code == 401 and member.status_code == 403
    assert admin.status_code == 200
    assert 'sophia_model_requests_total{model="local",status="ok"} 1.0' in admin.text
    assert (
        'sophia_http_requests_total{method="POST",route="/v1/chat/completions",status="200"} 1.0'
        in admin.text
    )
    assert 'sophia_breaker_state{model="local"} 0.0' in admin.text


async def test_a_key_over_its_per_minute_limit_gets_429_with_retry_after(stack: WebStack) -> None:
    key = await _key(stack, "busy", Role.MEMBER)
    async with stack.client() as client:
        codes = [
            (await client.get("/v1/models", headers={"authorization": f"Bearer {key}"})) for _ in range(4)
        ]
    assert [r.status_code for r in codes] == [200, 200, 200, 429]
    assert codes[-1].json()["error"]["type"] == "rate_limit_error" and "retry-after" in codes[-1].headers
    # The request-id layer wraps the limiter: a refused request still has an id to quote and is counted.
    assert codes[-1].headers["x-request-id"].startswith("req_")
    tallies = stack.app.state.web_metrics.tallies.http_requests
    assert tallies[("GET", "unmatched", "429")] == 1


def test_websocket_chat_streams_an_answer_for_an_api_key_and_refuses_strangers(
    stack_sync: tuple[TestClient, str],
) -> None:
    client, key = stack_sync
    with pytest.raises(WebSocketDisconnect):
        with client.websocket_connect("/ws/chat") as ws:
            ws.receive_json()
    with client.websocket_connect("/ws/chat", headers={"authorization": f"Bearer {key}"}) as ws:
        ws.send_json({"type": "message", "content": "ping <b>", "model": "local"})
        events = []
        while not events or events[-1]["type"] not in ("done", "error"):
            events.append(ws.receive_json())
    assert events[0]["type"] == "start" and events[0]["model"] == "local"
    assert "".join(e["text"] for e in events if e["type"] == "token") == "You said: ping <b>"
    assert events[-1]["status"] == "done" and events[-1]["content"] == "You said: ping <b>"


def test_websocket_refuses_a_session_cookie_from_another_origin(stack_sync: tuple[TestClient, str]) -> None:
    client, _ = stack_sync
    client.cookies.set("sophia_session", "anything")
    with pytest.raises(WebSocketDisconnect):
        with client.websocket_connect("/ws/chat", headers={"origin": "https://evil.example"}) as ws:
            ws.receive_json()


async def test_anthropic_clients_get_anthropics_shape_when_over_the_per_minute_limit(stack: WebStack) -> None:
    key = await _key(stack, "claude-fan", Role.MEMBER)
    transport = httpx2.ASGITransport(app=stack.app, client=("127.0.0.1", 50000))
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as http:
        client = anthropic.AsyncAnthropic(
            api_key=key, base_url="http://testserver", http_client=http, max_retries=0
        )
        ask: Any = [{"role": "user", "content": "hi"}]
        answers = [await client.messages.create(model="local", max_tokens=8, messages=ask) for _ in range(3)]
        with pytest.raises(anthropic.RateLimitError) as refused:
            await client.messages.create(model="local", max_tokens=8, messages=ask)
    assert [a.content[0].text for a in answers] == ["You said: hi"] * 3  # type: ignore[union-attr]
    assert refused.value.body["type"] == "error"  # type: ignore[index]
    assert refused.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]
    assert int(refused.value.response.headers["retry-after"]) >= 1
