"""`/v1/memory` over HTTP: members reach only their namespaces, errors share one shape and write nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sophia.accounts import AccountService, Role
from sophia.config import Settings
from sophia.gateway.providers import ScriptedProvider
from sophia.memory import HashingEmbedder, MemoryService
from sophia.server import Services, create_app
from sophia.server._memory import router
from sophia.store import Database
from tests.agents.conftest import build_gateway

Api = tuple[httpx.AsyncClient, dict[str, tuple[int, str]], MemoryService]


@pytest.fixture
async def api(database: Database, tmp_path: Path) -> AsyncIterator[Api]:
    settings = Settings(home=tmp_path, server={"upgrade_on_start": False})
    gateway = build_gateway(database, ScriptedProvider(lambda body: "unused", name="scripted"))
    accounts = AccountService(database)
    users: dict[str, tuple[int, str]] = {}
    for name, role in (("ada", Role.ADMIN), ("mia", Role.MEMBER), ("max", Role.MEMBER), ("vic", Role.VIEWER)):
        user = await accounts.create_user(name, role)
        users[name] = (user.id, (await accounts.create_api_key(user.id, "k"))[1])
    memory = await MemoryService.open(database, HashingEmbedder(dimensions=64), index_path=tmp_path / "v.npz")
    services = Services(settings=settings, database=database, accounts=accounts, gateway=gateway)
    app = create_app(settings, services)
    app.include_router(router)
    app.state.services = services
    app.state.memory = memory
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as client:
            yield client, users, memory
    finally:
        await memory.close()
        await gateway.aclose()


def auth(users: dict[str, tuple[int, str]], name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {users[name][1]}"}


async def _remember(client: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> httpx.Response:
    return await client.post("/v1/memory", json=body, headers=headers)


async def test_member_remembers_and_recalls_own_memory_with_reasons(api: Api) -> None:
    client, users, _ = api
    created = await _remember(client, auth(users, "mia"), content="Mia's cat is called Pixel", kind="fact")
    assert created.status_code == 201 and created.json()["namespace"] == f"user:{users['mia'][0]}"
    found = await client.post("/v1/memory/recall", json={"query": "cat name"}, headers=auth(users, "mia"))
    assert found.status_code == 200
    top = found.json()["data"][0]
    assert (
        top["memory"]["id"] == created.json()["id"]
        and top["memory"]["content"] == "Mia's cat is called Pixel"
    )
    assert top["reasons"]["keyword_rank"] == 1 and top["reasons"]["vector_score"] is not None


async def test_member_never_sees_another_members_memory(api: Api) -> None:
    client, users, _ = api
    secret = (await _remember(client, auth(users, "mia"), content="mia's locker code is 4411")).json()["id"]
    recalled = await client.post(
        "/v1/memory/recall", json={"query": "locker code"}, headers=auth(users, "max")
    )
    assert recalled.json()["data"] == []
    assert (await client.get(f"/v1/memory/{secret}", headers=auth(users, "max"))).status_code == 404
    assert (await client.delete(f"/v1/memory/{secret}", headers=auth(users, "max"))).status_code == 404
    asked = {"query": "locker code", "namespaces": [f"user:{users['mia'][0]}"]}
    denied = await client.post("/v1/memory/recall", json=asked, headers=auth(users, "max"))
    assert denied.status_code == 403 and denied.json()["error"]["type"] == "permission_error"
    shown = await client.get(f"/v1/memory/{secret}", headers=auth(users, "ada"))
    assert shown.status_code == 200 and shown.json()["content"] == "mia's locker code is 4411"


async def test_global_is_readable_by_members_but_written_only_by_admins(api: Api) -> None:
    client, users, _ = api
    refused = await _remember(client, auth(users, "mia"), content="office opens at 8", namespace="global")
    assert refused.status_code == 403
    made = await _remember(client, auth(users, "ada"), content="office opens at 8", namespace="global")
    assert made.status_code == 201
    memory_id = made.json()["id"]
    seen = await client.post("/v1/memory/recall", json={"query": "office opens"}, headers=auth(users, "mia"))
    assert [h["memory"]["id"] for h in seen.json()["data"]] == [memory_id]
    assert (await client.delete(f"/v1/memory/{memory_id}", headers=auth(users, "mia"))).status_code == 403
    viewer = await _remember(client, auth(users, "vic"), content="viewers write nothing")
    assert viewer.status_code == 403


BAD = [
    ({"content": "x" * (33 * 1024)}, 400, "limit"),
    ({"content": "fine", "kind": "gossip"}, 400, "unknown memory kind"),
    ({"content": "fine", "namespace": "team:x"}, 403, "malformed"),
    ({"content": "fine", "importance": 3}, 422, "importance"),  # the body's schema says 0..1
]


@pytest.mark.parametrize(("body", "status", "message"), BAD)
async def test_bad_writes_get_one_error_shape_and_store_nothing(
    api: Api, body: dict[str, Any], status: int, message: str
) -> None:
    client, users, memory = api
    answer = await _remember(client, auth(users, "mia"), **body)
    assert answer.status_code == status
    error = answer.json()["error"]
    assert message in error["message"] and error["code"] and "request_id" in error
    assert (await memory.stats()).memories == 0


async def test_malformed_filters_and_unknown_kinds_in_recall_are_400(api: Api) -> None:
    client, users, _ = api
    for body in ({"query": "x", "filters": {"colour": "red"}}, {"query": "x", "kinds": ["gossip"]}):
        answer = await client.post("/v1/memory/recall", json=body, headers=auth(users, "mia"))
        assert answer.status_code == 400 and answer.json()["error"]["code"] == "invalid_memory"


async def test_forget_and_stats_are_confined_to_the_caller(api: Api) -> None:
    client, users, _ = api
    mine = (await _remember(client, auth(users, "mia"), content="a", kind="preference")).json()["id"]
    await _remember(client, auth(users, "max"), content="b")
    mia_stats = (await client.get("/v1/memory/stats", headers=auth(users, "mia"))).json()
    assert (
        mia_stats["memories"] == 1
        and mia_stats["by_kind"] == {"preference": 1}
        and "vectors" not in mia_stats
    )
    assert (await client.get("/v1/memory/stats", headers=auth(users, "ada"))).json()["memories"] == 2
    gone = await client.delete(f"/v1/memory/{mine}", params={"hard": "true"}, headers=auth(users, "mia"))
    assert gone.json()["forgotten"] == 1
    assert (await client.get(f"/v1/memory/{mine}", headers=auth(users, "mia"))).status_code == 404


async def test_requests_without_a_key_are_refused(api: Api) -> None:
    client, _, _ = api
    assert (await client.post("/v1/memory/recall", json={"query": "x"})).status_code == 401


async def test_graph_is_confined_to_the_callers_namespaces(api: Api) -> None:
    client, users, _ = api
    await _remember(client, auth(users, "mia"), content="Dana owns the Acme account.")
    await _remember(client, auth(users, "mia"), content="Dana called about the renewal on Tuesday.")
    await _remember(client, auth(users, "max"), content="Zed owns the Acme account.")
    mine = (await client.get("/v1/memory/graph/acme", headers=auth(users, "mia"))).json()["data"]
    assert [(v["namespace"], [e["subject"] for e in v["edges"]]) for v in mine] == [
        (f"user:{users['mia'][0]}", ["Dana"])
    ]
    refused = await client.get(
        "/v1/memory/graph/acme", params={"namespace": f"user:{users['mia'][0]}"}, headers=auth(users, "max")
    )
    assert refused.status_code == 403
    both = await client.get(
        "/v1/memory/graph/acme",
        params={"namespace": [f"user:{users['mia'][0]}", f"user:{users['max'][0]}"]},
        headers=auth(users, "ada"),
    )
    assert sorted(e["subject"] for v in both.json()["data"] for e in v["edges"]) == ["Dana", "Zed"]
    body = {"query": "who owns the acme account", "k": 1, "expand_graph": True}
    hits = (await client.post("/v1/memory/recall", json=body, headers=auth(users, "mia"))).json()["data"]
    assert any("renewal" in h["memory"]["content"] and h["reasons"]["via_graph"] == "Dana" for h in hits)
    assert all("Zed" not in h["memory"]["content"] for h in hits)
