"""The real local model (SmolLM2-135M via llama.cpp) answering through the whole stack, with no key configured."""

from __future__ import annotations

from pathlib import Path

import httpx
import orjson
import pytest

from tests.serving import clean_env, create_key, running_sophia, sophia

pytestmark = pytest.mark.local_llm


def test_local_model_answers_through_sophia_serve_with_no_key_configured(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    key = create_key(env, "alice")
    with running_sophia(env, tmp_path) as server:
        headers = {"authorization": f"Bearer {key}"}
        body = {
            "model": "auto",
            "messages": [{"role": "user", "content": "What is the capital of France?"}],
            "max_tokens": 24,
            "temperature": 0,
        }
        response = httpx.post(f"{server.url}/v1/chat/completions", json=body, headers=headers, timeout=120)
        assert response.status_code == 200, response.text
        assert response.headers["x-sophia-model"] == "local"
        answer = response.json()
        assert answer["choices"][0]["message"]["content"].strip()
        assert answer["usage"]["completion_tokens"] > 0

        text = ""
        with httpx.stream(
            "POST",
            f"{server.url}/v1/chat/completions",
            headers=headers,
            timeout=120,
            json={**body, "stream": True, "stream_options": {"include_usage": True}},
        ) as stream:
            events = [line[6:] for line in stream.iter_lines() if line.startswith("data: ")]
        assert events[-1] == "[DONE]"
        chunks = [orjson.loads(e) for e in events[:-1]]
        text = "".join((c["choices"][0]["delta"].get("content") or "") for c in chunks if c["choices"])
        assert text.strip()
        assert chunks[-1]["usage"]["completion_tokens"] > 0


def test_sophia_ask_streams_from_the_local_model_and_reports_cost(tmp_path: Path) -> None:
    result = sophia(clean_env(tmp_path), "ask", "Say hello in one word.", "--max-tokens", "12")
    assert "model local (local)" in result.stdout
    assert "$0.000000" in result.stdout
    lines = result.stdout.strip().splitlines()
    assert len(lines) >= 2 and lines[0].strip()
