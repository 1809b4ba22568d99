"""Looker API 4.0 against a double whose paths and JSON bodies are checked by Looker's OpenAPI document (trimmed);
the login is a form, checked by hand: client id/secret → token, renewed after a 401."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx

from sophia.config import ConnectorSettings
from sophia.connectors import build_connector
from sophia.secrets import SecretResolver
from tests.connectors.infra_kit import DATA
from tests.connectors.openapi import OpenApi

SPEC = OpenApi(DATA / "looker" / "openapi.json", base="/api/4.0")
SECRET = "looker-client-5ecret-fake"


class LookerService:
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.logins = 0
        self.expire_next = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if path.endswith("/login"):
            form = parse_qs(request.content.decode())
            assert form == {"client_id": ["cid"], "client_secret": [SECRET]}
            self.logins += 1
            return httpx.Response(
                200, json={"access_token": f"tok{self.logins}", "token_type": "Bearer", "expires_in": 3600}
            )
        SPEC.check_request(request)
        if self.expire_next:
            self.expire_next = False
            return httpx.Response(401, json={"message": "Requires authentication.", "documentation_url": "x"})
        assert request.headers["authorization"].startswith("token tok")
        if path.endswith("/looks"):
            return httpx.Response(
                200, json=[{"id": "7", "title": "Pipeline by stage", "folder": {"name": "Sales"}}]
            )
        if path.endswith("/dashboards"):
            return httpx.Response(200, json=[{"id": "3", "title": "Revenue", "folder": {"name": "Exec"}}])
        if path.endswith("/looks/7/run/json"):
            return httpx.Response(200, json=[{"deals.stage": "Won", "deals.count": 12}])
        if path.endswith("/queries/run/json"):
            body: dict[str, Any] = json.loads(request.content)
            return httpx.Response(200, json=[{body["fields"][0]: 42}])
        return httpx.Response(404, json={"message": "Not found"})


def _looker(home: Path, service: LookerService) -> Any:
    settings = ConnectorSettings(
        base_url="https://acme.cloud.looker.com/api/4.0",
        credentials={"client_id": "env:LK_ID", "client_secret": "env:LK_SECRET"},
        requests_per_second=1000,
    )
    resolver = SecretResolver(home, environ={"LK_ID": "cid", "LK_SECRET": SECRET})
    return build_connector("looker", settings, resolver, transport=httpx.MockTransport(service))


async def test_login_once_then_list_and_run_looks_dashboards_and_an_inline_query(home: Path) -> None:
    service = LookerService()
    looker = _looker(home, service)
    assert await looker.looks() == [{"id": "7", "title": "Pipeline by stage", "folder": "Sales"}]
    assert (await looker.dashboards())[0]["title"] == "Revenue"
    assert await looker.run_look("7") == [{"deals.stage": "Won", "deals.count": 12}]
    rows = await looker.run_query("sales", "deals", ["deals.count"], filters={"deals.stage": "Won"})
    assert rows == [{"deals.count": 42}] and service.logins == 1
    sent = json.loads(service.requests[-1].content)
    assert sent["filters"] == {"deals.stage": "Won"} and sent["view"] == "deals"


async def test_a_401_logs_in_again_and_retries(home: Path) -> None:
    service = LookerService()
    looker = _looker(home, service)
    await looker.looks()
    service.expire_next = True
    assert len(await looker.looks()) == 1 and service.logins == 2
    assert all(SECRET not in str(r.headers) for r in service.requests)
