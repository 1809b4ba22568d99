"""The gateway end to end: a real `sophia serve` process in front of a fault-injecting upstream on 127.0.0.1."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import openai
import orjson
import pytest

from tests.gateway.fault_server import FaultState, running_fault_server
from tests.serving import Server, clean_env, create_key, running_sophia, sophia

# A real `sophia serve` and `sophia` commands start first, slow on a loaded machine.
pytestmark = pytest.mark.timeout(600)

CONFIG = """
[[providers]]
name = "faulty"
kind = "openai-compatible"
base_url = "{base_url}"
api_key = "env:FAULT_KEY"
first_token_timeout = 1.0
max_retries = 1

{models}

[routing.chains]
speed = ["r500", "good"]
coding = ["r429", "good"]
research = ["badjson", "good"]
creative = ["stall", "good"]
math = ["r502", "good"]
"""

MODELS = {
    "good": "ok",
    "r500": "status-500",
    "r502": "status-502",
    "r429": "status-429",
    "r400": "status-400",
    "stall": "stall-first",
    "cut": "cut-stream",
    "badjson": "bad-json",
    "tools": "tools",
}


@dataclass
class Stack:
    server: Server
    key: str
    home: Path
    faults: FaultState

    @property
    def url(self) -> str:
        return self.server.url

    def client(self, key: str | None = None) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"authorization": f"Bearer {key or self.key}"}, timeout=30
        )

    def ledger(self, request_id: str, timeout: float = 5.0) -> dict[str, object]:
        deadline = time.monotonic() + timeout
        while True:
            with sqlite3.connect(self.home / "sophia.db") as db:
                db.row_factory = sqlite3.Row
                row = db.execute("SELECT * FROM usage_requests WHERE id = ?", (request_id,)).fetchone()
                if row is not None:
                    return dict(row)
            if time.monotonic() > deadline:
                raise AssertionError(f"no ledger row for {request_id}")
            time.sleep(0.05)

    def new_key(self, user: str, *extra: str) -> str:
        return create_key(self.server.env, user, "admin", *extra)


def _models_toml() -> str:
    blocks = []
    for name, upstream in MODELS.items():
        tools = "true" if name == "tools" else "false"
        blocks.append(
            f'[[models]]\nname = "{name}"\nprovider = "faulty"\nmodel = "{upstream}"\n'
            f"input_price = 1.0\noutput_price = 2.0\ntools = {tools}\n"
        )
    return "\n".join(blocks)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    home = tmp_path_factory.mktemp("gateway-e2e")
    with running_fault_server() as (base_url, faults):
        config = home / "sophia.toml"
        config.write_text(CONFIG.format(base_url=base_url, models=_models_toml()), encoding="utf-8")
        env = clean_env(
            home,
            SOPHIA_CONFIG=str(config),
            FAULT_KEY="fault-upstream-key-canary",
            SOPHIA_SERVER__AUTH_CACHE_SECONDS="0",
            SOPHIA_LOGGING__LEVEL="WARNING",
        )
        key = create_key(env, "alice")
        sophia(env, "users", "create", "victor", "--role", "viewer")
        with running_sophia(env, home) as server:
            yield Stack(server, key, home, faults)
            log = server.log()
        assert "fault-upstream-key-canary" not in log
        stored = b"".join(path.read_bytes() for path in home.glob("sophia.db*"))
        # API keys are stored as hashes; provider keys are never stored.
        assert b"fault-upstream-key-canary" not in stored and b"sph_" not in stored


def chat(model: str, text: str = "hello", **extra: object) -> dict[str, object]:
    return {"model": model, "messages": [{"role": "user", "content": text}], **extra}


def test_fallback_retries_a_5xx_then_uses_the_next_chain_member(stack: Stack) -> None:
    with stack.client() as client:
        response = client.post("/v1/chat/completions", json=chat("sophia/speed"))
    assert response.status_code == 200, response.text
    assert response.headers["x-sophia-model"] == "good"
    assert response.headers["x-sophia-attempts"] == "3"  # r500 twice (one retry), then good
    assert stack.faults.hits["status-500"] == 2
    row = stack.ledger(response.headers["x-request-id"])
    assert row["model"] == "good" and row["attempts"] == 3 and row["fallbacks"] == 1


def test_a_400_is_returned_at_once_without_retry_or_fallback(stack: Stack) -> None:
    with stack.client() as client:
        response = client.post("/v1/chat/completions", json=chat("r400"))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and "injected 400" in error["message"]
    assert stack.faults.hits["status-400"] == 1


def test_429_is_retried_after_retry_after_then_falls_back(stack: Stack) -> None:
    with stack.client() as client:
        response = client.post("/v1/chat/completions", json=chat("sophia/coding", "fix this python bug"))
    assert response.status_code == 200
    assert response.headers["x-sophia-model"] == "good"
    assert stack.faults.hits["status-429"] == 2


def test_invalid_json_from_upstream_falls_back(stack: Stack) -> None:
    with stack.client() as client:
        response = client.post("/v1/chat/completions", json=chat("sophia/research"))
    assert response.status_code == 200
    assert response.headers["x-sophia-model"] == "good"


def test_breaker_opens_and_requests_skip_the_broken_deployment(stack: Stack) -> None:
    with stack.client() as client:
        for _ in range(3):  # two attempts each (one retry); the breaker opens at 5 consecutive failures
            assert client.post("/v1/chat/completions", json=chat("r502")).status_code == 503
        assert stack.faults.hits["status-502"] == 5
        for _ in range(3):
            response = client.post("/v1/chat/completions", json=chat("r502"))
            assert response.status_code == 503
            assert "circuit open" in response.json()["error"]["message"]
        stats = {row["deployment"]: row for row in client.get("/v1/gateway/stats").json()["data"]}
    assert stack.faults.hits["status-502"] == 5
    assert stats["r502"]["breaker"] == "open"


def test_routing_moves_away_from_a_failing_chain_member(stack: Stack) -> None:
    with stack.client() as client:
        first = client.post("/v1/chat/completions", json=chat("sophia/math", "solve 2 + 2"))
        later = client.post("/v1/chat/completions", json=chat("sophia/math", "solve 3 + 3"))
        stats = {row["deployment"]: row for row in client.get("/v1/gateway/stats").json()["data"]}
    assert first.status_code == later.status_code == 200
    assert later.headers["x-sophia-model"] == "good" and later.headers["x-sophia-attempts"] == "1"
    assert stats["r502"]["error_rate"] > stats["good"]["error_rate"]


def test_stream_falls_back_when_the_first_token_stalls(stack: Stack) -> None:
    with (
        stack.client() as client,
        client.stream(
            "POST", "/v1/chat/completions", json=chat("sophia/creative", "write a poem", stream=True)
        ) as response,
    ):
        assert response.status_code == 200
        assert response.headers["x-sophia-model"] == "good"
        lines = [line for line in response.iter_lines() if line.startswith("data: ")]
    assert lines[-1] == "data: [DONE]"
    text = "".join(
        (c["choices"][0]["delta"].get("content") or "")
        for c in (orjson.loads(line[6:]) for line in lines[:-1])
        if c.get("choices")
    )
    assert text == "The quick brown fox jumps over the lazy dog."


def test_stream_cut_midway_ends_with_an_error_event_not_a_clean_end(stack: Stack) -> None:
    with (
        stack.client() as client,
        client.stream("POST", "/v1/chat/completions", json=chat("cut", stream=True)) as response,
    ):
        assert response.status_code == 200
        request_id = response.headers["x-request-id"]
        lines = [line for line in response.iter_lines() if line.startswith("data: ")]
    assert "data: [DONE]" not in lines
    last = orjson.loads(lines[-1][6:])
    assert last["error"]["code"] == "stream_interrupted"
    assert any("quick" in line for line in lines)
    assert stack.ledger(request_id)["status"] == "interrupted"


def test_ledger_records_tokens_cost_and_the_cost_header(stack: Stack) -> None:
    with stack.client() as client:
        response = client.post("/v1/chat/completions", json=chat("good"))
    # 1000 input tokens at $1/M + 500 output tokens at $2/M
    assert float(response.headers["x-sophia-cost-usd"]) == pytest.approx(0.002)
    row = stack.ledger(response.headers["x-request-id"])
    assert row["input_tokens"] == 1000 and row["output_tokens"] == 500
    assert row["cost_usd"] == pytest.approx(0.002)
    assert row["status"] == "ok" and row["api_key_id"] is not None


def test_budget_refuses_with_429_before_calling_any_provider(stack: Stack) -> None:
    tight = stack.new_key("alice", "--name", "tight", "--budget-usd", "0.001")
    with stack.client(tight) as client:
        assert client.post("/v1/chat/completions", json=chat("good")).status_code == 200
        hits = stack.faults.hits["ok"]
        refused = client.post("/v1/chat/completions", json=chat("good"))
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "budget_exceeded"
    assert int(refused.headers["retry-after"]) > 0
    assert stack.faults.hits["ok"] == hits


def test_requests_without_a_key_or_with_a_viewer_key_are_refused(stack: Stack) -> None:
    assert httpx.post(f"{stack.url}/v1/chat/completions", json=chat("good")).status_code == 401
    viewer = create_key(stack.server.env, "victor", "viewer")
    with stack.client(viewer) as client:
        response = client.post("/v1/chat/completions", json=chat("good"))
    assert response.status_code == 403 and response.json()["error"]["type"] == "permission_error"


@pytest.mark.parametrize(
    ("body", "message"),
    [(b"{not json", "not valid JSON"), (b"[1, 2]", "JSON object"), (b'{"model": "good"}', "messages")],
)
def test_malformed_requests_get_openai_shaped_400s(stack: Stack, body: bytes, message: str) -> None:
    with stack.client() as client:
        response = client.post(
            "/v1/chat/completions", content=body, headers={"content-type": "application/json"}
        )
    assert response.status_code == 400
    assert message in response.json()["error"]["message"]


def test_unknown_model_suggests_a_close_name(stack: Stack) -> None:
    with stack.client() as client:
        response = client.post("/v1/chat/completions", json=chat("god"))
    assert response.status_code == 404
    assert 'did you mean "good"' in response.json()["error"]["message"]


def test_official_openai_client_plain_streaming_and_tools(stack: Stack) -> None:
    client = openai.OpenAI(base_url=f"{stack.url}/v1", api_key=stack.key, max_retries=0)
    plain = client.chat.completions.create(model="good", messages=[{"role": "user", "content": "hi"}])
    assert plain.choices[0].message.content == "The quick brown fox jumps over the lazy dog."
    assert plain.usage is not None and plain.usage.total_tokens == 1500

    stream = client.chat.completions.create(
        model="good",
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices).startswith("The quick")
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 500

    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        }
    ]
    called = client.chat.completions.create(
        model="tools", messages=[{"role": "user", "content": "weather?"}], tools=tools
    )  # type: ignore[arg-type]
    call = called.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert call.function.name == "get_weather" and call.function.arguments == '{"city": "Paris"}'  # type: ignore[union-attr]

    streamed = client.chat.completions.create(
        model="tools", messages=[{"role": "user", "content": "weather?"}], tools=tools, stream=True
    )  # type: ignore[arg-type]
    arguments = "".join(
        (c.choices[0].delta.tool_calls[0].function.arguments or "")  # type: ignore[union-attr,index]
        for c in streamed
        if c.choices and c.choices[0].delta.tool_calls
    )
    assert arguments == '{"city": "Paris"}'

    models = {m.id for m in client.models.list()}
    assert {"good", "local", "sophia/coding", "auto"} <= models
