"""Intercom against a transport double answering in its documented shapes (list + pages.next.starting_after,
error.list), Intercom-Version pinned; sync of contacts, conversations and tickets through the engine."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from sophia.config import ConnectorSettings
from sophia.connectors import ConnectorAuthError, ConnectorInvalid, SyncEngine, build_connector
from sophia.memory import HashingEmbedder, MemoryService
from sophia.secrets import SecretResolver
from sophia.store import Database

TOKEN = "intercom-token-5ecret"
CONTACTS = [
    {
        "type": "contact",
        "id": f"c{i}",
        "role": "user",
        "email": f"u{i}@acme.test",
        "name": f"User {i}",
        "created_at": 1714000000 + i,
        "updated_at": 1714500000 + i,
        "companies": {"type": "list", "data": [{"type": "company", "id": "co1"}]},
    }
    for i in range(5)
]
CONVERSATION = {
    "type": "conversation",
    "id": "123",
    "title": None,
    "state": "open",
    "priority": "priority",
    "created_at": 1714000000,
    "updated_at": 1714600000,
    "source": {"subject": "Refund", "body": "<p>I want a refund</p>", "author": {"email": "u1@acme.test"}},
}
TICKET = {
    "type": "ticket",
    "id": "t1",
    "ticket_state": "resolved",
    "created_at": 1714000000,
    "updated_at": 1714700000,
    "ticket_attributes": {"_default_title_": "Login broken", "_default_description_": "Cannot log in"},
}


class Service:
    def __init__(self) -> None:
        self.sent: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return httpx.Response(
                401,
                json={
                    "type": "error.list",
                    "request_id": "r1",
                    "errors": [{"code": "unauthorized", "message": "Access Token Invalid"}],
                },
            )
        body = json.loads(request.content) if request.content else {}
        path = request.url.path
        if path == "/contacts/search" or path == "/contacts":
            after = body.get("pagination", {}).get("starting_after") or request.url.params.get(
                "starting_after"
            )
            start = 0 if not after else int(after)
            chunk = CONTACTS[start : start + 2]
            following = {"page": 2, "starting_after": str(start + 2)} if start + 2 < len(CONTACTS) else None
            pages = {
                "type": "pages",
                "page": 1,
                "per_page": 2,
                "total_pages": 3,
                **({"next": following} if following else {}),
            }
            return httpx.Response(200, json={"type": "list", "data": chunk, "total_count": 5, "pages": pages})
        if path == "/conversations/search":
            return httpx.Response(
                200,
                json={
                    "type": "conversation.list",
                    "conversations": [CONVERSATION],
                    "total_count": 1,
                    "pages": {"type": "pages", "page": 1},
                },
            )
        if path == "/tickets/search":
            return httpx.Response(
                200,
                json={
                    "type": "ticket.list",
                    "tickets": [TICKET],
                    "total_count": 1,
                    "pages": {"type": "pages", "page": 1},
                },
            )
        if path.startswith("/conversations/123/"):
            if body.get("message_type") == "comment" and not body.get("body"):
                return httpx.Response(
                    400,
                    json={
                        "type": "error.list",
                        "errors": [{"code": "parameter_invalid", "message": "Body is required"}],
                    },
                )
            state = "closed" if body.get("message_type") == "close" else "open"
            return httpx.Response(
                200, json={**CONVERSATION, "state": state, "admin_assignee_id": body.get("assignee_id")}
            )
        return httpx.Response(
            404, json={"type": "error.list", "errors": [{"code": "not_found", "message": "nope"}]}
        )


def _intercom(tmp_path: Path, service: Service, token: str = TOKEN) -> Any:
    settings = ConnectorSettings(credentials={"token": "env:T"}, options={"sync_page_size": 2})
    resolver = SecretResolver(tmp_path, environ={"T": token})
    return build_connector("intercom", settings, resolver, transport=httpx.MockTransport(service))


async def test_actions_send_the_documented_requests(tmp_path: Path) -> None:
    service = Service()
    intercom = _intercom(tmp_path, service)
    try:
        assert [c["id"] for c in await intercom.contacts(limit=10)] == [f"c{i}" for i in range(5)]
        assert service.sent[-1].url.params["starting_after"] == "4"
        assert service.sent[-1].headers["intercom-version"] == "2.11"
        closed = await intercom.close(conversation_id="123", admin_id="a1")
        assert closed["state"] == "closed"
        assert json.loads(service.sent[-1].content) == {
            "message_type": "close",
            "type": "admin",
            "admin_id": "a1",
        }
        assigned = await intercom.assign(conversation_id="123", admin_id="a1", assignee_id="a2")
        assert (
            assigned["admin_assignee_id"] == "a2" and service.sent[-1].url.path == "/conversations/123/parts"
        )
        await intercom.reply(conversation_id="123", admin_id="a1", body="On it", note=True)
        assert json.loads(service.sent[-1].content)["message_type"] == "note"
        assert service.sent[-1].url.path == "/conversations/123/reply"
        with pytest.raises(ConnectorInvalid, match="needs a body"):
            await intercom.reply(conversation_id="123", admin_id="a1", body=" ")
        assert (await intercom.tickets())[0]["id"] == "t1"
    finally:
        await intercom.aclose()
    wrong = _intercom(tmp_path, service, token="bad")
    try:
        with pytest.raises(ConnectorAuthError, match="Access Token Invalid"):
            await wrong.contacts()
    finally:
        await wrong.aclose()


async def test_sync_writes_contacts_conversations_and_tickets(tmp_path: Path, database: Database) -> None:
    service = Service()
    intercom = _intercom(tmp_path, service)
    memory = await MemoryService.open(database, HashingEmbedder(dimensions=64))
    try:
        report = await SyncEngine(database, memory).run("intercom", intercom)
        assert report.ok
        assert {s.stream: s.written for s in report.streams} == {
            "contacts": 5,
            "conversations": 1,
            "tickets": 1,
        }
        search = json.loads(next(r for r in service.sent if r.url.path == "/contacts/search").content)
        assert search["query"] == {"field": "updated_at", "operator": ">", "value": 0}
        from sophia.business import BusinessStore

        store = BusinessStore(database)
        counts = await store.counts(source="intercom")
        assert counts["contacts"] == 5 and counts["activities"] == 2
        activities = {a["kind"]: a for a in await store.rows("activities", source="intercom")}
        assert activities["ticket"]["status"] == "closed" and activities["conversation"]["priority"] == "P1"
        again = await SyncEngine(database, memory).run("intercom", intercom)
        assert again.totals()["written"] == 0
        last = json.loads([r for r in service.sent if r.url.path == "/contacts/search"][-1].content)
        assert last["query"]["value"] == 1714500004  # incremental: since the newest contact
    finally:
        await memory.close()
        await intercom.aclose()
