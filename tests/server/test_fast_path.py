"""The raw-ASGI hot path for POST /v1/chat/completions answers exactly like the FastAPI route it stands in for."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sophia.accounts import KeyVerifier, Principal, Role
from sophia.errors import AuthError
from sophia.server import create_app
from sophia.server._fastpath import SophiaAPI
from sophia.server.web import WebOptions
from tests.web.conftest import WebStack, build_stack

CHAT = {"model": "local", "messages": [{"role": "user", "content": "hi"}]}
VOLATILE = {"x-request-id", "x-sophia-cost-usd", "date", "content-length"}


@pytest.fixture
async def stack(_isolated_sophia_home: Path, _sqlite_template: Path) -> AsyncIterator[WebStack]:
    options = WebOptions(requests_per_minute_key=0, requests_per_minute_user=0)
    built, close = await build_stack(_isolated_sophia_home, _sqlite_template, options)
    built.app = create_app(built.services.settings, built.services, mcp=False)  # the dashboard, no MCP mount
    try:
        async with built.app.router.lifespan_context(built.app):
            yield built
    finally:
        await close()


async def _key(stack: WebStack, role: Role = Role.MEMBER) -> str:
    user = await stack.services.accounts.create_user(f"u-{role.value}", role)
    return (await stack.services.accounts.create_api_key(user.id, "k"))[1]


async def _both(stack: WebStack, **request: Any) -> tuple[httpx.Response, httpx.Response]:
    """The same request through the hot path and, with the hot path stepped aside, through the FastAPI route."""
    assert isinstance(stack.app, SophiaAPI)
    async with stack.client() as client:
        hot = await client.post("/v1/chat/completions", **request)
        stack.app.root_path = "/"  # any root path sends the request down the full FastAPI stack
        try:
            routed = await client.post("/v1/chat/completions", **request)
        finally:
            stack.app.root_path = ""
    return hot, routed


def _comparable(response: httpx.Response) -> tuple[int, dict[str, str]]:
    return response.status_code, {k: v for k, v in response.headers.items() if k not in VOLATILE}


async def test_hot_path_and_route_give_the_same_status_headers_and_body(stack: WebStack) -> None:
    key = await _key(stack)
    hot, routed = await _both(stack, json=CHAT, headers={"authorization": f"Bearer {key}"})
    assert _comparable(hot) == _comparable(routed)
    assert hot.status_code == 200 and hot.headers["x-sophia-model"] == "local"
    assert hot.json()["choices"] == routed.json()["choices"]
    assert hot.headers["x-request-id"].startswith("req_")
    assert len(stack.provider.calls) == 2
    assert stack.app._hot is not None  # the first request did take the hot path


@pytest.mark.parametrize(
    ("request_kwargs", "status", "code"),
    [
        ({"json": CHAT}, 401, "authentication_error"),
        ({"json": CHAT, "headers": {"authorization": "Bearer sph_nope_nope"}}, 401, "authentication_error"),
        ({"content": b"{not json", "auth": True}, 400, "invalid_request_error"),
        ({"json": [1, 2], "auth": True}, 400, "invalid_request_error"),
        ({"json": {"model": "nope", "messages": CHAT["messages"]}, "auth": True}, 404, "not_found_error"),
        ({"json": {"model": "local", "messages": []}, "auth": True}, 400, "invalid_request_error"),
    ],
)
async def test_errors_have_the_same_shape_on_both_paths(
    stack: WebStack, request_kwargs: dict[str, Any], status: int, code: str
) -> None:
    if request_kwargs.pop("auth", False):
        request_kwargs["headers"] = {"authorization": f"Bearer {await _key(stack)}"}
    hot, routed = await _both(stack, **request_kwargs)
    assert _comparable(hot) == _comparable(routed)
    assert hot.status_code == status and hot.json()["error"]["type"] == code
    assert {k: v for k, v in hot.json()["error"].items() if k != "request_id"} == {
        k: v for k, v in routed.json()["error"].items() if k != "request_id"
    }


async def test_a_viewer_key_is_refused_on_the_hot_path(stack: WebStack) -> None:
    key = await _key(stack, Role.VIEWER)
    hot, routed = await _both(stack, json=CHAT, headers={"authorization": f"Bearer {key}"})
    assert hot.status_code == routed.status_code == 403


async def test_streams_on_the_hot_path_end_with_done(stack: WebStack) -> None:
    key = await _key(stack)
    body = {**CHAT, "stream": True}
    hot, routed = await _both(stack, json=body, headers={"authorization": f"Bearer {key}"})
    assert hot.headers["content-type"].startswith("text/event-stream")
    assert hot.text.endswith("data: [DONE]\n\n") and routed.text.endswith("data: [DONE]\n\n")
    assert hot.headers["x-sophia-model"] == "local"


async def test_the_hot_path_writes_a_ledger_row_and_counts_route_metrics(stack: WebStack) -> None:
    key = await _key(stack)
    async with stack.client() as client:
        response = await client.post(
            "/v1/chat/completions", json=CHAT, headers={"authorization": f"Bearer {key}"}
        )
    assert response.status_code == 200
    assert await stack.services.gateway.ledger.flush() == 1
    exposition = stack.app.state.web_metrics.registry.get_sample_value(
        "sophia_http_requests_total", {"method": "POST", "route": "/v1/chat/completions", "status": "200"}
    )
    assert exposition == 1.0


async def test_concurrent_misses_of_one_key_share_a_single_verification() -> None:
    calls = 0
    principal = Principal(
        user_id=1, user_name="a", role=Role.MEMBER, key_id=2, scopes=("*",), budget_usd=None
    )

    async def check(token: str) -> Principal:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return principal

    verifier = KeyVerifier(check, ttl=60)
    found = await asyncio.gather(*(verifier.verify("sph_key") for _ in range(20)))
    assert calls == 1 and all(p is principal for p in found)
    assert await verifier.verify("sph_key") is principal and calls == 1
    await verifier.verify("sph_other")
    assert calls == 2  # another key is checked on its own


async def test_a_failed_shared_verification_reaches_every_waiter_and_is_not_cached() -> None:
    calls = 0

    async def check(token: str) -> Principal:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        raise AuthError("unknown API key")

    verifier = KeyVerifier(check, ttl=60)
    results = await asyncio.gather(*(verifier.verify("sph_d") for _ in range(5)), return_exceptions=True)
    assert calls == 1 and all(isinstance(r, AuthError) for r in results)
    with pytest.raises(AuthError):
        await verifier.verify("sph_d")
    assert calls == 2
