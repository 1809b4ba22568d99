"""The WebSocket chat under the same rules as `/v1`: rate limits per turn, the key re-checked before each turn,
and every client message answered even when sent back to back while an answer streams."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient, WebSocketTestSession

from sophia.accounts import Role
from sophia.config import Settings
from sophia.gateway.providers import ScriptedProvider
from sophia.memory import HashingEmbedder, MemoryService
from sophia.server import Services, create_app
from tests.web.conftest import echo


class Stack:
    def __init__(self, client: TestClient, services: Services, provider: ScriptedProvider) -> None:
        self.client, self.services, self.provider = client, services, provider
        user = client.portal.call(services.accounts.create_user, "sam", Role.MEMBER)
        self.key_info, self.key = client.portal.call(services.accounts.create_api_key, user.id, "ws")

    def socket(self) -> Any:
        return self.client.websocket_connect("/ws/chat", headers={"authorization": f"Bearer {self.key}"})

    def models_status(self) -> int:
        return self.client.get("/v1/models", headers={"authorization": f"Bearer {self.key}"}).status_code


@pytest.fixture
def make_stack(_isolated_sophia_home: Path, _sqlite_template: Path) -> Iterator[Callable[..., Any]]:
    @contextmanager
    def make(**sections: Any) -> Iterator[Stack]:
        shutil.copyfile(_sqlite_template, _isolated_sophia_home / "sophia.db")
        server = {"upgrade_on_start": False, "run_worker": False, **sections.pop("server", {})}
        app = create_app(Settings(home=_isolated_sophia_home, server=server, **sections), mcp=False)
        with TestClient(app, base_url="http://testserver") as client:
            services: Services = app.state.services
            provider = services.gateway.providers["local"] = ScriptedProvider(echo, name="local")
            memory = client.portal.call(MemoryService.open, services.database, HashingEmbedder())
            app.state.memory = memory
            try:
                yield Stack(client, services, provider)
            finally:
                client.portal.call(memory.close)

    yield make


def _until_end_of_turn(ws: WebSocketTestSession) -> dict[str, Any]:
    while True:
        event = ws.receive_json()
        if event["type"] in ("done", "error"):
            return dict(event)


def test_a_thousand_back_to_back_messages_are_all_answered_in_order(make_stack: Callable[..., Any]) -> None:
    unlimited = {"requests_per_minute_key": 0, "requests_per_minute_user": 0}
    with make_stack(web=unlimited) as stack, stack.socket() as ws:
        for number in range(1000):
            ws.send_json({"type": "message", "content": f"message {number}", "model": "local"})
        answers = [_until_end_of_turn(ws) for _ in range(1000)]
    assert [a.get("content") for a in answers] == [f"You said: message {n}" for n in range(1000)]
    assert len(stack.provider.calls) == 1000


def test_the_socket_is_rate_limited_per_turn_like_the_api(make_stack: Callable[..., Any]) -> None:
    with make_stack(web={"requests_per_minute_key": 3, "requests_per_minute_user": 0}) as stack:
        with stack.socket() as ws:
            for number in range(5):
                ws.send_json({"type": "message", "content": f"turn {number}", "model": "local"})
            endings = [_until_end_of_turn(ws) for _ in range(5)]
        assert [e["type"] for e in endings] == ["done", "done", "done", "error", "error"]
        assert endings[-1]["code"] == "rate_limited"
        assert len(stack.provider.calls) == 3  # the refused turns never reached a model
        assert stack.models_status() == 429  # one budget for the socket and /v1


def test_a_revoked_key_is_refused_on_an_open_socket_within_the_cache_time(
    make_stack: Callable[..., Any],
) -> None:
    with make_stack(server={"auth_cache_seconds": 1}) as stack, stack.socket() as ws:
        ws.send_json({"type": "message", "content": "before", "model": "local"})
        assert _until_end_of_turn(ws)["type"] == "done"
        stack.client.portal.call(stack.services.accounts.revoke_api_key, stack.key_info.id)
        deadline = time.monotonic() + 30  # the API refuses the key once its cache entry (1 s) has expired
        while stack.models_status() != 401 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert stack.models_status() == 401
        ws.send_json({"type": "message", "content": "after", "model": "local"})
        refused = _until_end_of_turn(ws)
    assert refused["type"] == "error" and refused["code"] == "unauthorized"
    assert [call["messages"][-1]["content"] for call in stack.provider.calls] == ["before"]
