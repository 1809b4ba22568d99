"""OpenRouter against responses shaped as its API reference documents (GET /models, /key, /credits)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from sophia.cli import app as cli_app
from sophia.config import ConnectorSettings
from sophia.connectors import (
    ConnectorAuthError,
    ConnectorNotFound,
    ConnectorRateLimited,
    ConnectorUnavailable,
    build_connector,
)
from sophia.secrets import SecretResolver
from tests.serving import serve_app

KEY = "sk-or-v1-fake-5ecret0penrouter"
MODELS = {
    "data": [
        {
            "id": "openai/gpt-4o",
            "canonical_slug": "openai/gpt-4o",
            "name": "OpenAI: GPT-4o",
            "created": 1715367049,
            "description": "GPT-4o",
            "context_length": 128000,
            "architecture": {
                "modality": "text+image->text",
                "input_modalities": ["text", "image"],
                "output_modalities": ["text"],
                "tokenizer": "GPT",
                "instruct_type": None,
            },
            "pricing": {"prompt": "0.0000025", "completion": "0.00001", "request": "0", "image": "0.003613"},
            "top_provider": {"context_length": 128000, "max_completion_tokens": 16384, "is_moderated": True},
            "per_request_limits": None,
            "supported_parameters": ["tools", "temperature"],
        },
        {
            "id": "meta-llama/llama-3.1-8b-instruct:free",
            "name": "Meta: Llama 3.1 8B Instruct (free)",
            "context_length": 131072,
            "architecture": {"modality": "text->text"},
            "pricing": {"prompt": "0", "completion": "0"},
            "top_provider": {"context_length": 131072, "max_completion_tokens": None, "is_moderated": False},
        },
    ]
}
KEY_INFO = {
    "data": {
        "label": "sk-or-v1-au7...890",
        "limit": 100,
        "usage": 25.5,
        "is_free_tier": False,
        "limit_remaining": 74.5,
        "limit_reset": "monthly",
        "is_provisioning_key": False,
        "rate_limit": {"requests": 1000, "interval": "1h"},
    }
}


def _service(script: list[tuple[int, dict[str, str], Any]]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        if script:
            status, headers, body = script.pop(0)
            return httpx.Response(status, headers=headers, json=body)
        if request.headers.get("authorization") != f"Bearer {KEY}":
            return httpx.Response(401, json={"error": {"code": 401, "message": "No auth credentials found"}})
        answers = {
            "/api/v1/models": MODELS,
            "/api/v1/key": KEY_INFO,
            "/api/v1/credits": {"data": {"total_credits": 100.5, "total_usage": 25.75}},
        }
        found = answers.get(request.url.path)
        if found is None:
            return httpx.Response(404, json={"error": {"code": 404, "message": "Not Found"}})
        return httpx.Response(200, json=found)

    return httpx.MockTransport(handle)


def _connector(home: Path, script: list[Any] | None = None, key: str = KEY) -> Any:
    settings = ConnectorSettings(kind="openrouter", credentials={"token": "env:OR_KEY"}, max_retries=1)
    return build_connector(
        "openrouter",
        settings,
        SecretResolver(home, environ={"OR_KEY": key}),
        transport=_service(script or []),
    )


async def test_models_come_with_prices_per_million_and_context(home: Path) -> None:
    connector = _connector(home)
    models = await connector.list_models()
    assert models[0] == {
        "id": "openai/gpt-4o",
        "name": "OpenAI: GPT-4o",
        "context_length": 128000,
        "max_completion_tokens": 16384,
        "input_usd_per_million": 2.5,
        "output_usd_per_million": 10.0,
        "modality": "text+image->text",
    }
    assert [m["id"] for m in await connector.list_models(search="LLAMA")] == [
        "meta-llama/llama-3.1-8b-instruct:free"
    ]
    assert (await connector.credits())["remaining"] == pytest.approx(74.75)
    assert (await connector.check()).detail["limit_remaining"] == 74.5
    await connector.aclose()


async def test_bad_key_429_and_5xx_are_typed(home: Path) -> None:
    bad = _connector(home, key="sk-or-v1-wrong")
    with pytest.raises(ConnectorAuthError, match="No auth credentials found"):
        await bad.key_info()
    await bad.aclose()
    limited = _connector(
        home, [(429, {"Retry-After": "0"}, {"error": {"message": "Rate limit exceeded"}})] * 2
    )
    with pytest.raises(ConnectorRateLimited):
        await limited.list_models()
    await limited.aclose()
    retried = _connector(home, [(429, {"Retry-After": "0"}, {"error": {"message": "slow down"}})])
    assert len(await retried.list_models()) == 2
    await retried.aclose()
    failing = _connector(home, [(502, {}, {"error": {"message": "upstream"}})] * 2)
    with pytest.raises(ConnectorUnavailable):
        await failing.list_models()
    await failing.aclose()
    missing = _connector(home, [(404, {}, {"error": {"code": 404, "message": "Not Found"}})])
    with pytest.raises(ConnectorNotFound):
        await missing.credits()
    await missing.aclose()


def test_cli_calls_the_models_action_over_real_http(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/api/v1/models")
    async def models() -> Any:
        return MODELS

    with serve_app(app) as url:
        config = tmp_path / "sophia.toml"
        config.write_text(
            f'[connectors.openrouter]\nbase_url = "{url}/api/v1"\ncredentials = {{ token = "env:OR_KEY" }}\n'
        )
        monkeypatch.setenv("OR_KEY", KEY)
        result = CliRunner().invoke(
            cli_app,
            [
                "--config",
                str(config),
                "connectors",
                "call",
                "openrouter",
                "models.list",
                "--args",
                '{"search": "gpt"}',
            ],
        )
    assert result.exit_code == 0, result.output
    assert [m["id"] for m in json.loads(result.output)] == ["openai/gpt-4o"] and KEY not in result.output
