"""The real local model (SmolLM2-135M via llama.cpp) answering through the whole stack, with no key configured."""

from __future__ import annotations

import os
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import orjson
import pytest

from tests.gateway.local_children import cpu_ticks, local_worker_pid, wait_until_generating
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


LONG_BODY = {
    "model": "local",
    "messages": [{"role": "user", "content": "Count from 1 to 500, one number per line."}],
    "max_tokens": 400,
    "temperature": 0,
    "stop_on_repeat": False,
}


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGSEGV])
def test_a_local_model_crash_mid_stream_ends_the_stream_with_an_error_and_the_server_serves_on(
    tmp_path: Path, sig: int
) -> None:
    env = clean_env(tmp_path)
    key = create_key(env, "alice")
    headers = {"authorization": f"Bearer {key}"}
    with running_sophia(env, tmp_path) as server:
        events: list[str] = []
        url, body = f"{server.url}/v1/chat/completions", {**LONG_BODY, "stream": True}
        with httpx.stream("POST", url, headers=headers, timeout=120, json=body) as stream:
            for line in stream.iter_lines():
                if not line.startswith("data: "):
                    continue
                events.append(line[6:])
                if len(events) == 3:
                    os.kill(local_worker_pid(server.process.pid), sig)
        assert "[DONE]" not in events
        error = orjson.loads(events[-1])["error"]
        assert signal.Signals(sig).name in error["message"]
        assert server.process.poll() is None

        body = {**LONG_BODY, "max_tokens": 8}
        after = httpx.post(f"{server.url}/v1/chat/completions", json=body, headers=headers, timeout=120)
        assert after.status_code == 200, after.text
        assert after.json()["choices"][0]["message"]["content"].strip()


def test_a_local_model_crash_during_a_plain_completion_is_retried_on_a_restarted_process(
    tmp_path: Path,
) -> None:
    env = clean_env(tmp_path)
    key = create_key(env, "alice")
    headers = {"authorization": f"Bearer {key}"}
    with running_sophia(env, tmp_path) as server:
        warm = {**LONG_BODY, "max_tokens": 2}
        assert httpx.post(
            f"{server.url}/v1/chat/completions", json=warm, headers=headers, timeout=120
        ).is_success
        pid = local_worker_pid(server.process.pid)
        baseline = cpu_ticks(pid)
        with ThreadPoolExecutor(1) as pool:
            pending = pool.submit(
                httpx.post, f"{server.url}/v1/chat/completions", json=LONG_BODY, headers=headers, timeout=180
            )
            wait_until_generating(pid, baseline)
            os.kill(pid, signal.SIGSEGV)
            response = pending.result()
        assert response.status_code == 200, response.text
        assert int(response.headers["x-sophia-attempts"]) >= 2
        assert local_worker_pid(server.process.pid) != pid
        assert "SIGSEGV" in server.log()
