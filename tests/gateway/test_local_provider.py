"""The local model runs in a supervised child process: answers, sane sampling, and crashes that stay contained."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys

import pytest

from sophia.gateway import ProviderUnavailable, StreamInterrupted
from sophia.gateway.providers import LocalProvider
from tests.gateway.local_children import cpu_ticks, local_worker_pid, wait_until_generating

pytestmark = pytest.mark.local_llm

EVERYDAY_PROMPTS = [
    "Hello",
    "What is the capital of France?",
    "Explain WAL mode in SQLite",
    "Write a short poem about the sea.",
    "Give me three tips for better sleep.",
    "What should I cook for dinner tonight?",
]
LONG = {
    "messages": [{"role": "user", "content": "Count from 1 to 500, one number per line."}],
    "max_tokens": 600,
    "stop_on_repeat": False,
    "temperature": 0,
}


def repeated_sentences(text: str) -> list[str]:
    outside_code = re.sub(r"```.*?(```|$)", "", text, flags=re.S)
    keys = [" ".join(p.lower().split()).strip(" .!?") for p in re.split(r"(?<=[.!?\n])", outside_code)]
    long_keys = [k for k in keys if len(k) >= 12]
    return sorted({k for k in long_keys if long_keys.count(k) > 1})


async def test_everyday_prompts_get_answers_without_a_repeated_sentence() -> None:
    provider = LocalProvider()
    try:
        for prompt in EVERYDAY_PROMPTS:
            body = {"messages": [{"role": "user", "content": prompt}], "temperature": 0, "seed": 7}
            answer = await provider.complete(body, upstream_model="local")
            text = answer["choices"][0]["message"]["content"]
            assert text.strip(), prompt
            assert repeated_sentences(text) == [], (prompt, text)
            assert 0 < answer["usage"]["completion_tokens"] <= provider.sampling.max_tokens
    finally:
        await provider.aclose()


async def test_the_model_runs_in_a_child_process_never_in_the_callers() -> None:
    provider = LocalProvider()
    try:
        await provider.complete(
            {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4}, upstream_model="m"
        )
        assert provider.pid is not None and provider.pid != os.getpid()
        assert "llama_cpp" not in sys.modules
    finally:
        await provider.aclose()
    assert provider.pid is None


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGSEGV])
async def test_a_crash_mid_stream_fails_that_stream_and_the_next_request_gets_a_new_process(sig: int) -> None:
    provider = LocalProvider()
    try:
        stream = provider.stream(LONG, upstream_model="local")
        chunks = [await anext(stream) for _ in range(3)]
        assert chunks and provider.pid is not None
        first_pid = provider.pid
        os.kill(first_pid, sig)
        with pytest.raises(StreamInterrupted, match=signal.Signals(sig).name):
            async for _ in stream:
                pass
        answer = await provider.complete(
            {"messages": [{"role": "user", "content": "Hi"}]}, upstream_model="m"
        )
        assert answer["choices"][0]["message"]["content"].strip()
        assert provider.pid not in (None, first_pid)
        assert provider.restarts == 1
    finally:
        await provider.aclose()


async def test_repeated_crashes_back_off_before_the_next_restart() -> None:
    provider = LocalProvider()
    try:
        for _ in range(2):
            stream = provider.stream(LONG, upstream_model="local")
            await anext(stream)
            assert provider.pid is not None
            os.kill(provider.pid, signal.SIGKILL)
            with pytest.raises(StreamInterrupted):
                async for _ in stream:
                    pass
        with pytest.raises(ProviderUnavailable, match="crashed 2 times in a row") as refused:
            await provider.complete({"messages": [{"role": "user", "content": "Hi"}]}, upstream_model="m")
        assert refused.value.retry_after is not None and 0 < refused.value.retry_after <= 0.5
    finally:
        await provider.aclose()


async def test_a_crash_during_a_plain_completion_is_a_retryable_provider_failure() -> None:
    provider = LocalProvider()
    try:
        await provider.complete(
            {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2}, upstream_model="m"
        )
        pid = provider.pid
        assert pid is not None
        baseline = cpu_ticks(pid)
        pending = asyncio.create_task(provider.complete(LONG, upstream_model="local"))
        await asyncio.to_thread(wait_until_generating, pid, baseline)
        os.kill(pid, signal.SIGSEGV)
        with pytest.raises(ProviderUnavailable) as failure:
            await pending
        assert failure.value.retryable and "SIGSEGV" in str(failure.value)
        answer = await provider.complete(
            {"messages": [{"role": "user", "content": "Hi"}]}, upstream_model="m"
        )
        assert answer["choices"][0]["message"]["content"].strip()
        assert local_worker_pid(os.getpid()) == provider.pid != pid
    finally:
        await provider.aclose()
