"""n8n's public API v1 against a double answering as its OpenAPI spec (packages/cli/src/public-api) shows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from sophia.connectors import (
    ConnectorAuthError,
    ConnectorInvalid,
    ConnectorNotFound,
    ConnectorUnavailable,
    DryRunStop,
    call_scope,
)
from tests.connectors.infra_kit import DATA, connect
from tests.connectors.openapi import OpenApi, SpecService

KEY = "n8n_api_5ecretkey"
BASE = "https://n8n.example.com/api/v1"
SPEC = OpenApi(DATA / "n8n" / "openapi.json", base="/api/v1")
HOOK = "https://n8n.example.com/webhook/orders"
PUBLIC_HOOK = "http://93.184.216.34/webhook/orders"


def workflow(workflow_id: str, active: bool = True) -> dict[str, Any]:
    return {
        "id": workflow_id,
        "name": f"Orders {workflow_id}",
        "active": active,
        "createdAt": "2026-12-01T10:00:00.000Z",
        "updatedAt": "2026-12-02T10:00:00.000Z",
        "nodes": [
            {
                "id": "a1",
                "name": "Webhook",
                "type": "n8n-nodes-base.webhook",
                "typeVersion": 2,
                "position": [0, 0],
                "parameters": {"path": "orders", "httpMethod": "POST"},
                "webhookId": "w-1",
            },
            {
                "id": "a2",
                "name": "Slack",
                "type": "n8n-nodes-base.slack",
                "typeVersion": 2,
                "position": [200, 0],
                "parameters": {},
            },
        ],
        "connections": {"Webhook": {"main": [[{"node": "Slack", "type": "main", "index": 0}]]}},
        "settings": {"executionOrder": "v1"},
        "tags": [{"id": "t1", "name": "production"}],
    }


EXECUTION = {
    "id": 1000,
    "finished": True,
    "mode": "webhook",
    "retryOf": None,
    "retrySuccessId": None,
    "startedAt": "2026-12-06T10:00:00.000Z",
    "stoppedAt": "2026-12-06T10:00:02.000Z",
    "workflowId": 1000,
    "waitTill": None,
    "status": "success",
}


def _routes() -> dict[tuple[str, str], Any]:
    def workflows(request: httpx.Request) -> Any:
        if request.url.params.get("cursor") == "MTIzZTQ1NjctZTg5Yi0xMmQzLWE0NTYtNDI2NjE0MTc0MDA":
            return {"data": [workflow("2")], "nextCursor": None}
        return {"data": [workflow("1")], "nextCursor": "MTIzZTQ1NjctZTg5Yi0xMmQzLWE0NTYtNDI2NjE0MTc0MDA"}

    return {
        ("GET", "/workflows"): workflows,
        ("GET", "/workflows/{id}"): workflow("1"),
        ("POST", "/workflows/{id}/activate"): workflow("1", True),
        ("POST", "/workflows/{id}/deactivate"): workflow("1", False),
        ("GET", "/executions"): {"data": [EXECUTION], "nextCursor": None},
        ("GET", "/executions/{id}"): EXECUTION,
    }


@pytest.fixture
def service() -> SpecService:
    outside = {HOOK: (200, {}, {"message": "Workflow was started"}), PUBLIC_HOOK: (200, {}, {"ok": 1})}
    return SpecService(SPEC, _routes(), outside)


def _n8n(home: Path, service: SpecService) -> Any:
    return connect(home, "n8n", KEY, service, base_url=BASE)


async def test_workflows_page_with_the_cursor_and_carry_the_api_key(home: Path, service: SpecService) -> None:
    n8n = _n8n(home, service)
    listed = await n8n.workflows(active=True)
    assert [w["id"] for w in listed] == ["1", "2"] and listed[0]["tags"] == ["production"]
    assert (
        service.requests[1].url.params["cursor"].startswith("MTIz")
        and service.requests[0].url.params["active"] == "true"
    )
    assert (
        service.requests[0].headers["x-n8n-api-key"] == KEY
        and "authorization" not in service.requests[0].headers
    )
    assert len(await n8n.workflows(limit=1)) == 1


async def test_a_workflow_shows_its_nodes_and_webhook_paths(home: Path, service: SpecService) -> None:
    got = await _n8n(home, service).workflow("1")
    assert (
        got["webhook_paths"] == ["orders"]
        and [n["type"] for n in got["nodes"]][0] == "n8n-nodes-base.webhook"
    )


async def test_activation_and_executions(home: Path, service: SpecService) -> None:
    n8n = _n8n(home, service)
    assert (await n8n.activate("1"))["active"] is True
    assert (await n8n.deactivate("1"))["active"] is False
    runs = await n8n.executions(workflow_id="1000", status="success")
    assert runs[0]["status"] == "success" and service.requests[-1].url.params["workflowId"] == "1000"
    assert (await n8n.execution("1000"))["finished"] is True


async def test_a_webhook_path_goes_to_the_instance_without_the_api_key(
    home: Path, service: SpecService
) -> None:
    n8n = _n8n(home, service)
    answer = await n8n.trigger({"order": 7}, path="orders")
    assert answer == {"status": 200, "response": {"message": "Workflow was started"}}
    sent = service.requests[-1]
    assert str(sent.url) == HOOK and json.loads(sent.content) == {"order": 7}
    assert "x-n8n-api-key" not in sent.headers, "a webhook never carries the API key"
    assert (await n8n.trigger({}, url=PUBLIC_HOOK))["response"] == {"ok": 1}


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:5678/webhook/x",
        "http://10.0.0.8/webhook/x",
        "http://169.254.169.254/latest",
        "http://[::1]/x",
        "ftp://n8n.example.com/x",
        "http://2130706433/x",
    ],
)
async def test_a_webhook_url_argument_may_not_reach_internal_addresses(
    home: Path, service: SpecService, url: str
) -> None:
    with pytest.raises(ConnectorInvalid):
        await _n8n(home, service).trigger({}, url=url)
    assert service.requests == []


async def test_writes_dry_run_and_a_trigger_needs_exactly_one_target(
    home: Path, service: SpecService
) -> None:
    n8n = _n8n(home, service)
    for action, arguments, path in (
        ("activate", ("1",), "/api/v1/workflows/1/activate"),
        ("deactivate", ("1",), "/api/v1/workflows/1/deactivate"),
        ("trigger", ({"a": 1}, "orders"), "/webhook/orders"),
    ):
        with call_scope(dry_run=True, tool=f"n8n.{action}", arguments={}, run_id=None):
            with pytest.raises(DryRunStop) as stopped:
                await getattr(n8n, action)(*arguments)
        assert stopped.value.preview.method == "POST" and httpx.URL(stopped.value.preview.url).path == path
        assert KEY not in json.dumps(stopped.value.preview.to_record())
    assert service.requests == []
    with pytest.raises(ConnectorInvalid, match="exactly one"):
        await n8n.trigger({}, path="a", url=HOOK)


async def test_errors_are_typed(home: Path, service: SpecService) -> None:
    n8n = _n8n(home, service.fail((401, {}, {"message": "'X-N8N-API-KEY' header required"})))
    with pytest.raises(ConnectorAuthError, match="X-N8N-API-KEY"):
        await n8n.check()
    service.fail((404, {}, {"message": "Not Found"}))
    with pytest.raises(ConnectorNotFound):
        await n8n.workflow("9")
    service.fail((429, {"retry-after": "1"}, {"message": "Too Many Requests"}))
    assert await n8n.executions()
    service.fail((503, {}, {"message": "down"}))
    with pytest.raises(ConnectorUnavailable):
        await n8n.activate("1")
