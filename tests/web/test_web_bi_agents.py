"""`/v1/bi/recruit/*`, `/v1/bi/strategy` and the `/bi/recruit`, `/bi/strategy` pages on the real app: resumes are
for admins only, and a member's memory recall (HTTP and the memory tool) never returns one."""

from __future__ import annotations

import httpx
import pytest

from sophia.accounts import Role
from sophia.memory import MemoryKind
from sophia.server.web import WebOptions
from sophia.tools import ToolContext
from sophia.tools._memory_tools import MemoryTools
from tests.bi.test_recruit import ANA, BEN, NOTES, ROLE
from tests.web.conftest import WebStack

ROLE_ID = "senior-backend-engineer"


@pytest.fixture
def web_options() -> WebOptions:
    return WebOptions(requests_per_minute_key=0, requests_per_minute_user=0)


async def _key(stack: WebStack, name: str, role: Role) -> dict[str, str]:
    user = await stack.services.accounts.create_user(name, role)
    return {"authorization": f"Bearer {(await stack.services.accounts.create_api_key(user.id, 'k'))[1]}"}


async def _seed(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    assert (await client.post("/v1/bi/recruit/roles", json={"text": ROLE}, headers=admin)).status_code == 201
    for text in (ANA, BEN):
        response = await client.post("/v1/bi/recruit/candidates", json={"text": text}, headers=admin)
        assert response.status_code == 201, response.text


async def test_recruit_routes_are_for_admins_and_rank_with_reasons(stack: WebStack) -> None:
    admin, member = await _key(stack, "root", Role.ADMIN), await _key(stack, "mem", Role.MEMBER)
    async with stack.client() as client:
        assert (await client.get("/v1/bi/recruit/roles")).status_code == 401
        await _seed(client, admin)
        for path in (
            "/v1/bi/recruit/roles",
            "/v1/bi/recruit/candidates",
            f"/v1/bi/recruit/roles/{ROLE_ID}/matches",
        ):
            refused = await client.get(path, headers=member)
            assert refused.status_code == 403 and "admin" in refused.json()["error"]["message"]
        added = await client.post("/v1/bi/recruit/candidates", json={"text": ANA}, headers=member)
        assert added.status_code == 403
        ranked = (await client.get(f"/v1/bi/recruit/roles/{ROLE_ID}/matches", headers=admin)).json()["data"]
        assert [m["candidate_id"] for m in ranked] == ["ana-silva", "ben-berg"]
        assert ranked[0]["missing"] == ["Kafka"] and ranked[0]["reasons"][0]["line_number"] == 1
        questions = await client.get(
            f"/v1/bi/recruit/roles/{ROLE_ID}/candidates/ben-berg/questions", headers=admin
        )
        assert questions.json()["gaps"] == ["Python services in production", "PostgreSQL", "Kubernetes"]
        notes_path = f"/v1/bi/recruit/roles/{ROLE_ID}/candidates/ana-silva/notes"
        for version in (1, 2):
            saved = await client.post(notes_path, json={"text": NOTES}, headers=admin)
            assert saved.status_code == 201 and saved.json()["version"] == version
        versions = (await client.get(notes_path, headers=admin)).json()["data"]
        assert [v["current"] for v in versions] == [False, True]
        bad = await client.post("/v1/bi/recruit/roles", json={"text": "# Engineer\n- Python"}, headers=admin)
        assert bad.status_code == 400 and "Must have" in bad.json()["error"]["message"]
        missing = await client.get("/v1/bi/recruit/roles/nobody/matches", headers=admin)
        assert missing.status_code == 404


async def test_a_member_never_recalls_a_resume(stack: WebStack) -> None:
    admin, member = await _key(stack, "root", Role.ADMIN), await _key(stack, "mem", Role.MEMBER)
    async with stack.client() as client:
        await _seed(client, admin)
        recall = {"query": "Ana Silva PostgreSQL Kubernetes", "k": 50}
        mine = await client.post("/v1/memory/recall", json=recall, headers=member)
        assert mine.status_code == 200 and "Ana Silva" not in mine.text
        asked = await client.post(
            "/v1/memory/recall", json={**recall, "namespaces": ["hr:recruiting"]}, headers=member
        )
        assert asked.status_code == 403
        admin_hits = await client.post(
            "/v1/memory/recall", json={**recall, "namespaces": ["hr:recruiting"]}, headers=admin
        )
        assert "Ana Silva" in admin_hits.text  # the namespace is real; only its readers are restricted
    user_id = (await stack.services.accounts.get_user("mem")).id
    recalled = await MemoryTools(stack.memory).recall("Ana Silva resume", ToolContext(user_id=user_id), k=50)
    assert recalled == [] or "Ana Silva" not in str(recalled)


async def test_strategy_route_and_pages(stack: WebStack) -> None:
    member = await _key(stack, "mem2", Role.MEMBER)
    await stack.memory.remember(
        "Demand for revenue analytics is rising in Europe.",
        namespace="global",
        kind=MemoryKind.RESEARCH,
        source="https://example.org/eu",
        metadata={"title": "EU market", "claim": "Demand for revenue analytics is rising in Europe."},
    )
    async with stack.client() as client:
        assert (await client.get("/v1/bi/strategy")).status_code == 401
        found = (await client.get("/v1/bi/strategy", headers=member)).json()
        assert found["items"][0]["evidence"][0]["url"] == "https://example.org/eu"
    admin_client, csrf = await stack.signed_in("ada")
    async with admin_client:
        empty = await admin_client.get("/bi/recruit")
        assert empty.status_code == 200 and "No roles yet" in empty.text
        added = await admin_client.post("/bi/recruit/roles", data={"text": ROLE, "csrf_token": csrf})
        assert added.status_code == 303
        await admin_client.post(
            "/bi/recruit/candidates", data={"text": ANA, "csrf_token": csrf, "role": ROLE_ID}
        )
        page = await admin_client.get(f"/bi/recruit?role={ROLE_ID}")
        assert "Ana Silva" in page.text and "Tuned PostgreSQL queries" in page.text
        forged = await admin_client.post("/bi/recruit/roles", data={"text": ROLE})
        assert forged.status_code == 403
        strategy = await admin_client.get("/bi/strategy")
        assert "EU market" in strategy.text
    member_client, _ = await stack.signed_in("mia")
    async with member_client:
        assert (await member_client.get("/bi/recruit")).status_code == 403
        assert (await member_client.get("/bi/strategy")).status_code == 200
