"""`POST /v1/feedback` and `sophia models stats`: an answer's score reaches the router's estimate for its task."""

from __future__ import annotations

import asyncio

from typer.testing import CliRunner

from sophia.accounts import Role
from sophia.cli import app as cli_app
from tests.server.test_response_cache_http import Stack, _key, stack

__all__ = ["stack"]  # the fixture, shared with the cache tests

CODING = {"model": "sophia/coding", "messages": [{"role": "user", "content": "fix this python function"}]}


async def test_feedback_on_ones_own_answer_teaches_the_router_and_shows_in_models_stats(stack: Stack) -> None:
    mia, max_ = await _key(stack, "mia"), await _key(stack, "max")
    async with stack.client(mia) as client:
        answer = await client.post("/v1/chat/completions", json=CODING, headers={"cache-control": "no-store"})
        request_id = answer.headers["x-request-id"]
        rated = await client.post("/v1/feedback", json={"request_id": request_id, "score": 1})
        assert rated.status_code == 200, rated.text
        assert rated.json() == {
            "object": "feedback",
            "request_id": request_id,
            "task": "coding",
            "model": "local",
        }
        too_high = await client.post("/v1/feedback", json={"request_id": request_id, "score": 2})
        assert too_high.status_code == 422
        unknown = await client.post("/v1/feedback", json={"request_id": "req_nope", "score": 0})
        assert unknown.status_code == 404 and unknown.json()["error"]["type"] == "not_found_error"
    async with stack.client(max_) as client:
        foreign = await client.post("/v1/feedback", json={"request_id": request_id, "score": 0})
        assert foreign.status_code == 404  # another user's request is not theirs to rate
    estimate = stack.services.gateway.router.quality.estimate("coding", "local", 0.5)
    assert estimate.evidence == 1 and estimate.mean > 0.5
    result = await asyncio.to_thread(CliRunner().invoke, cli_app, ["models", "stats"])
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if "coding" in line and "local" in line)
    assert row.split("│")[-2].strip() == "1"  # the evidence count


async def test_an_admin_may_rate_any_answer(stack: Stack) -> None:
    mia, ada = await _key(stack, "mia"), await _key(stack, "ada", Role.ADMIN)
    async with stack.client(mia) as client:
        request_id = (await client.post("/v1/chat/completions", json=CODING)).headers["x-request-id"]
    async with stack.client(ada) as client:
        rated = await client.post("/v1/feedback", json={"request_id": request_id, "score": 0.25})
    assert rated.status_code == 200
