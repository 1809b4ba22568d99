"""Built-in kinds through the surfaces a user touches: `sophia.toml`, `sophia config check`, `sophia models sync`,
`sophia models list` and `sophia serve`'s `/v1/chat/completions`, in front of a local upstream shaped like
OpenRouter, Perplexity and Cohere."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from tests.gateway.provider_shapes import CITATIONS, SEARCH_RESULTS
from tests.gateway.shape_server import ShapeState, running_shape_server
from tests.serving import Server, clean_env, create_key, running_sophia, sophia

# A real `sophia serve` and `sophia` commands start first, slow on a loaded machine.
pytestmark = pytest.mark.timeout(600)

CONFIG = """
[[providers]]
name = "or"
kind = "openrouter"
base_url = "{url}/api/v1"
api_key = "env:OR_TEST_KEY"
app_url = "https://sophia.example"
app_name = "Sophia e2e"
preferences = {{ sort = "price", allow_fallbacks = false }}

[[providers]]
name = "pplx"
kind = "perplexity"
base_url = "{url}/pplx"
api_key = "env:PPLX_TEST_KEY"

[[providers]]
name = "co"
kind = "cohere"
base_url = "{url}/cohere"
api_key = "env:CO_TEST_KEY"
"""


class Stack:
    def __init__(self, server: Server, key: str, home: Path, state: ShapeState, synced: str) -> None:
        self.server, self.key, self.home, self.state, self.synced = server, key, home, state, synced

    def post(self, body: dict[str, object]) -> httpx.Response:
        return httpx.post(
            f"{self.server.url}/v1/chat/completions",
            json=body,
            headers={"authorization": f"Bearer {self.key}"},
            timeout=30,
        )

    def ledger_cost(self, request_id: str) -> float:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with sqlite3.connect(self.home / "sophia.db") as db:
                row = db.execute("SELECT cost_usd FROM usage_requests WHERE id = ?", (request_id,)).fetchone()
            if row is not None:
                return float(row[0])
            time.sleep(0.05)
        raise AssertionError(f"no ledger row for {request_id}")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    home = tmp_path_factory.mktemp("kinds-home")
    with running_shape_server() as (url, state):
        config = home / "sophia.toml"
        config.write_text(CONFIG.format(url=url), encoding="utf-8")
        env = clean_env(
            home,
            SOPHIA_CONFIG=str(config),
            OR_TEST_KEY="sk-or-v1-e2e",
            PPLX_TEST_KEY="pplx-e2e",
            CO_TEST_KEY="co-e2e",
            COLUMNS="250",  # `models list` is a table; a narrow terminal would cut the model names
        )
        synced = sophia(env, "models", "sync", "or").stdout
        with running_sophia(env, home) as server:
            yield Stack(server, create_key(env, "alice"), home, state, synced)


def test_models_sync_stores_openrouter_prices_the_catalog_then_uses(stack: Stack) -> None:
    assert "3 model(s) from or (2 with prices)" in " ".join(stack.synced.split())
    stored = json.loads((stack.home / "catalogs" / "or.json").read_text())
    mini = next(m for m in stored["models"] if m["upstream"] == "openai/gpt-4o-mini")
    assert (mini["input_price"], mini["output_price"], mini["context_window"]) == (0.2, 0.8, 128000)
    assert mini["tools"] and mini["vision"] and mini["json_mode"]
    auth = next(h for path, h, _ in stack.state.requests if path == "/api/v1/models")
    assert auth["authorization"] == "Bearer sk-or-v1-e2e"
    listing = sophia(stack.server.env, "models", "list").stdout
    row = next(line for line in listing.splitlines() if "openai/gpt-4o-mini" in line and "or/" not in line)
    assert "0.2" in row and "0.8" in row  # the built-in 0.15 / 0.6 were refreshed
    assert "or/mistralai/mistral-nemo" in listing


def test_openrouter_request_carries_attribution_and_preferences_and_is_charged_its_reported_cost(
    stack: Stack,
) -> None:
    response = stack.post(
        {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "Capital of France?"}]}
    )
    assert response.status_code == 200, response.text
    path, headers, body = next(
        r for r in reversed(stack.state.requests) if r[0] == "/api/v1/chat/completions"
    )
    assert headers["http-referer"] == "https://sophia.example" and headers["x-title"] == "Sophia e2e"
    assert body["provider"] == {"sort": "price", "allow_fallbacks": False}
    assert response.headers["x-sophia-provider"] == "or"
    assert float(response.headers["x-sophia-cost-usd"]) == pytest.approx(0.00004)
    assert stack.ledger_cost(response.headers["x-request-id"]) == pytest.approx(0.00004)


def test_a_synced_model_is_usable_by_name(stack: Stack) -> None:
    response = stack.post(
        {"model": "or/mistralai/mistral-nemo", "messages": [{"role": "user", "content": "Hi"}]}
    )
    assert response.status_code == 200, response.text
    assert stack.state.requests[-1][2]["model"] == "mistralai/mistral-nemo"


def test_perplexity_citations_reach_the_http_caller_plain_and_streamed(stack: Stack) -> None:
    plain = stack.post({"model": "sonar", "messages": [{"role": "user", "content": "Capital of France?"}]})
    assert plain.status_code == 200, plain.text
    assert plain.json()["citations"] == CITATIONS and plain.json()["search_results"] == SEARCH_RESULTS
    assert float(plain.headers["x-sophia-cost-usd"]) == pytest.approx(0.005022)  # the search fee included
    streamed = stack.post(
        {"model": "sonar", "stream": True, "messages": [{"role": "user", "content": "Capital?"}]}
    )
    events = [orjson.loads(line[6:]) for line in streamed.text.splitlines() if line.startswith("data: {")]
    assert events and all(e["citations"] == CITATIONS for e in events if e.get("choices"))
    assert streamed.text.rstrip().endswith("data: [DONE]")


def test_cohere_answers_through_the_openai_endpoint_streamed(stack: Stack) -> None:
    streamed = stack.post(
        {
            "model": "command-a-03-2025",
            "stream": True,
            "stream_options": {"include_usage": True},  # OpenAI's rule: the usage chunk only when asked
            "messages": [{"role": "user", "content": "Capital?"}],
        }
    )
    assert streamed.status_code == 200
    events = [orjson.loads(line[6:]) for line in streamed.text.splitlines() if line.startswith("data: {")]
    text = "".join(
        (c.get("delta") or {}).get("content") or "" for e in events for c in e.get("choices") or ()
    )
    assert text == "Paris is the capital of France."
    assert events[-1]["usage"]["prompt_tokens"] == 215
    cohere_request = next(r for r in reversed(stack.state.requests) if r[0] == "/cohere/v2/chat")
    assert cohere_request[1]["authorization"] == "Bearer co-e2e"


def test_config_check_names_the_missing_key_of_each_provider(tmp_path: Path) -> None:
    config = tmp_path / "sophia.toml"
    config.write_text(
        '[[providers]]\nname = "fastgroq"\nkind = "groq"\n\n'
        '[[providers]]\nname = "gw"\nkind = "portkey"\napi_key = "env:PORTKEY_TEST_KEY"\ncatalog = "openai"\n\n'
        '[[providers]]\nname = "box"\nkind = "ollama"\n',
        encoding="utf-8",
    )
    env = clean_env(tmp_path, SOPHIA_CONFIG=str(config), PORTKEY_TEST_KEY="pk-test")
    env.pop("GROQ_API_KEY", None)
    result = sophia(env, "config", "check", check=False)
    assert result.returncode == 2
    assert (
        'providers[0].api_key: provider "fastgroq" (kind groq) has no API key: set GROQ_API_KEY'
        in result.stderr
    )
    assert 'providers[1].virtual_key: provider "gw" (kind portkey) needs the virtual key' in result.stderr
    assert "providers[2]" not in result.stderr  # ollama needs no key
    env["GROQ_API_KEY"] = "gsk-test"
    config.write_text(
        config.read_text().replace('catalog = "openai"', 'catalog = "openai"\nvirtual_key = "env:VK_TEST"')
    )
    env["VK_TEST"] = "vk-test"
    assert "settings are valid: 3 provider(s)" in sophia(env, "config", "check").stdout
