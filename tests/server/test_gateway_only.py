"""`sophia serve --only gateway`: the model API alone, with nothing of memory, tools, runs, dashboard or MCP."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.gateway.fault_server import running_fault_server
from tests.serving import Server, clean_env, create_key, running_sophia

CONFIG = """
[[providers]]
name = "up"
kind = "openai-compatible"
base_url = "{base_url}"
api_key = "env:UP_KEY"

[[models]]
name = "fast"
provider = "up"
model = "ok"

[web]
requests_per_minute_key = 3
"""

HEAVY = [
    "pydantic_ai",
    "mcp",
    "dbos",
    "numpy",
    "trafilatura",
    "jinja2",
    "sophia.memory",
    "sophia.runs",
    "sophia.agents",
    "sophia.tools",
    "sophia.mcp",
]

PROBE = """
import json, sys
import sophia.cli, sophia.cli._serve  # what `sophia serve --only gateway` imports before the app
from fastapi.testclient import TestClient
from sophia.config import load_settings
from sophia.server import create_gateway_app

heavy = HEAVY_NAMES
app = create_gateway_app(load_settings())
with TestClient(app) as client:
    ready = client.get("/readyz").status_code
    models = client.get("/v1/models").status_code
loaded = sorted(m for m in sys.modules if any(m == h or m.startswith(h + ".") for h in heavy))
print(json.dumps({"ready": ready, "models": models, "heavy": loaded}))
"""


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    home = tmp_path_factory.mktemp("gateway-only")
    with running_fault_server() as (base_url, _):
        config = home / "sophia.toml"
        config.write_text(CONFIG.format(base_url=base_url), encoding="utf-8")
        env = clean_env(home, SOPHIA_CONFIG=str(config), UP_KEY="up-key")
        with running_sophia(env, home, serve_args=("--only", "gateway")) as server:
            yield server, create_key(env, "alice")


def test_the_model_api_answers_plain_streamed_and_anthropic(gateway: tuple[Server, str]) -> None:
    server, key = gateway
    auth = {"authorization": f"Bearer {key}"}
    body = {"model": "fast", "messages": [{"role": "user", "content": "Hi"}]}
    plain = httpx.post(f"{server.url}/v1/chat/completions", json=body, headers=auth)
    assert plain.status_code == 200 and plain.json()["choices"][0]["message"]["content"]
    streamed = httpx.post(f"{server.url}/v1/chat/completions", json={**body, "stream": True}, headers=auth)
    assert streamed.text.rstrip().endswith("data: [DONE]")
    messages = httpx.post(
        f"{server.url}/v1/messages",
        json={"model": "fast", "max_tokens": 16, "messages": [{"role": "user", "content": "Hi"}]},
        headers={"x-api-key": key},
    )
    assert messages.status_code == 200 and messages.json()["type"] == "message"
    # The API's per-key limit (3 a minute here) holds in gateway-only mode too.
    limited = httpx.post(f"{server.url}/v1/chat/completions", json=body, headers=auth)
    assert limited.status_code == 429 and limited.headers["retry-after"]
    assert httpx.get(f"{server.url}/readyz").status_code == 200


def test_nothing_beyond_the_gateway_is_served(gateway: tuple[Server, str]) -> None:
    server, _ = gateway
    key = create_key(server.env, "bob")  # alice's 3-a-minute budget is spent by the test before
    for path in ("/", "/login", "/metrics", "/mcp/memory", "/v1/memories", "/v1/runs"):
        response = httpx.get(f"{server.url}{path}", headers={"authorization": f"Bearer {key}"})
        assert response.status_code == 404, path
    assert "Sophia gateway on" in server.log()


def test_gateway_only_never_imports_memory_tools_runs_or_mcp(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    probe = PROBE.replace("HEAVY_NAMES", json.dumps(HEAVY))
    result = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["ready"] == 200 and report["models"] == 401
    assert report["heavy"] == []
