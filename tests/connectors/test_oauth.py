"""The OAuth refresh-token flow: tokens kept in the vault, refreshed before expiry and after a 401."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from sophia.connectors import ConnectorAuthError, ConnectorHttp, OAuthRefresh
from sophia.secrets import SecretResolver

TOKEN_URL = "https://login.example.com/oauth/token"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def _setup(
    home: Path, handler: httpx.MockTransport
) -> tuple[ConnectorHttp, OAuthRefresh, SecretResolver, Clock]:
    resolver = SecretResolver(home, environ={"CID": "client-1", "CSECRET": "cs-5ecret", "RT": "rt-first"})
    refs = {"client_id": "env:CID", "client_secret": "env:CSECRET", "refresh_token": "env:RT"}
    clock = Clock()
    http = ConnectorHttp("Example", "https://api.example.com", transport=handler)
    auth = OAuthRefresh(
        "crm",
        TOKEN_URL,
        lambda name: resolver.resolve(refs[name]),
        lambda: resolver.backend,
        lambda: http.client,
        clock=clock,
    )
    http.auth = auth
    return http, auth, resolver, clock


def _service(grants: list[dict[str, str]], rejected: set[str]) -> httpx.MockTransport:
    issued = iter(range(1, 100))

    def handler(request: httpx.Request) -> httpx.Response:
        if str(request.url) == TOKEN_URL:
            form = dict(x.split("=", 1) for x in request.content.decode().split("&"))
            grants.append(form)
            if form["refresh_token"] == "rt-revoked":
                return httpx.Response(400, json={"error": "invalid_grant", "error_description": "expired"})
            number = next(issued)
            return httpx.Response(
                200,
                json={"access_token": f"at-{number}", "expires_in": 3600, "refresh_token": f"rt-{number}"},
            )
        token = request.headers["authorization"].removeprefix("Bearer ")
        if token in rejected:
            return httpx.Response(401, json={"message": "token expired"})
        return httpx.Response(200, json={"token": token})

    return httpx.MockTransport(handler)


async def test_the_first_call_exchanges_the_refresh_token_and_stores_the_access_token(home: Path) -> None:
    grants: list[dict[str, str]] = []
    http, _, resolver, _ = _setup(home, _service(grants, set()))
    assert (await http.json("GET", "/me")) == {"token": "at-1"}
    assert (await http.json("GET", "/me")) == {"token": "at-1"}
    assert [g["refresh_token"] for g in grants] == ["rt-first"]
    stored = json.loads(resolver.backend.get("connector.crm.oauth") or "{}")
    assert stored["access_token"] == "at-1" and stored["refresh_token"] == "rt-1"


async def test_a_token_near_expiry_is_refreshed_with_the_rotated_refresh_token(home: Path) -> None:
    grants: list[dict[str, str]] = []
    http, _, _, clock = _setup(home, _service(grants, set()))
    await http.json("GET", "/me")
    clock.now += 3600 - 30  # inside the refresh margin
    assert (await http.json("GET", "/me")) == {"token": "at-2"}
    assert [g["refresh_token"] for g in grants] == ["rt-first", "rt-1"]


async def test_a_401_refreshes_once_and_retries(home: Path) -> None:
    grants: list[dict[str, str]] = []
    http, _, _, _ = _setup(home, _service(grants, {"at-1"}))
    assert (await http.json("GET", "/me")) == {"token": "at-2"}
    assert len(grants) == 2


async def test_a_refused_refresh_is_an_auth_error_that_says_to_authorise_again(home: Path) -> None:
    grants: list[dict[str, str]] = []
    http, auth, resolver, _ = _setup(home, _service(grants, set()))
    resolver.backend.set("connector.crm.oauth", json.dumps({"refresh_token": "rt-revoked", "expires_at": 0}))
    with pytest.raises(ConnectorAuthError, match="authorise again") as raised:
        await http.json("GET", "/me")
    assert "cs-5ecret" not in str(raised.value)
