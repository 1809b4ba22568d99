"""The Intercom connector on the kit: a bearer access token, `Intercom-Version` pinned, cursor paging through
`pages.next.starting_after`; contacts, conversations and tickets are `Syncable` through the search endpoints
(`updated_at > since`), and contacts also by their full id list for deletions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

from sophia.connectors._errors import ConnectorInvalid
from sophia.connectors._intercom._sync import STREAMS, business_of, record_of
from sophia.connectors._model import CheckResult, Connector, Credential, action
from sophia.connectors._paging import collect_cursor
from sophia.connectors._sync import SyncPage, SyncRecord
from sophia.tools import SideEffect

__all__ = ["Intercom"]

VERSION = "2.11"
_SYNC_PAGE = 50


def _next(body: dict[str, Any]) -> str | None:
    following = (body.get("pages") or {}).get("next")
    return following.get("starting_after") if isinstance(following, dict) else None


class Intercom(Connector):
    kind = "intercom"
    title = "Intercom"
    group = "integrations"
    default_base_url = "https://api.intercom.io"
    docs_url = "https://developers.intercom.com/docs/references/rest-api/api.intercom.io"
    credentials = (
        Credential("token", "an Intercom access token (Developer Hub → your app → Authentication)"),
    )
    default_headers = {"Intercom-Version": VERSION, "Accept": "application/json"}

    async def check(self) -> CheckResult:
        me = await self.http.json("GET", "/me")
        return CheckResult(
            True, f"signed in as {me.get('name')}", {"app": (me.get("app") or {}).get("id_code")}
        )

    async def _list(self, path: str, key: str, limit: int, **params: Any) -> list[dict[str, Any]]:
        async def page(cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
            query = {"per_page": min(limit, 150), **params}
            if cursor:
                query["starting_after"] = cursor
            body = await self.http.json("GET", path, params=query)
            return body.get(key) or [], _next(body)

        return await collect_cursor(page, limit=limit)

    @action("contacts.list")
    async def contacts(
        self, limit: Annotated[int, "How many contacts at most."] = 50
    ) -> list[dict[str, Any]]:
        """Contacts (users and leads) with email, role and company links."""
        return await self._list("/contacts", "data", limit)

    @action("companies.list")
    async def companies(
        self, limit: Annotated[int, "How many companies at most."] = 50
    ) -> list[dict[str, Any]]:
        """Companies with their user counts and plan."""
        found: list[dict[str, Any]] = []
        page = 1
        while len(found) < limit:
            body = await self.http.json(
                "GET", "/companies", params={"per_page": min(limit, 60), "page": page}
            )
            found.extend(body.get("data") or [])
            if page >= int((body.get("pages") or {}).get("total_pages") or 1):
                break
            page += 1
        return found[:limit]

    @action("conversations.list")
    async def conversations(
        self, limit: Annotated[int, "How many conversations at most."] = 20
    ) -> list[dict[str, Any]]:
        """Conversations, newest first, with their state and first message."""
        return await self._list("/conversations", "conversations", limit)

    @action("tickets.search")
    async def tickets(
        self,
        state: Annotated[
            str | None, "Only tickets in this state (submitted, in_progress, resolved…)."
        ] = None,
        limit: Annotated[int, "How many tickets at most."] = 20,
    ) -> list[dict[str, Any]]:
        """Tickets, through Intercom's ticket search."""
        query: dict[str, Any] = (
            {"field": "state", "operator": "=", "value": state}
            if state
            else {"field": "created_at", "operator": ">", "value": 0}
        )
        body = await self.http.json(
            "POST",
            "/tickets/search",
            json={"query": query, "pagination": {"per_page": min(limit, 150)}},
            reads=True,
        )
        tickets: list[dict[str, Any]] = body.get("tickets") or []
        return tickets[:limit]

    async def _part(self, conversation_id: str, body: dict[str, Any], path: str = "parts") -> dict[str, Any]:
        answer: dict[str, Any] = await self.http.json(
            "POST", f"/conversations/{conversation_id}/{path}", json=body
        )
        return {
            "id": answer.get("id"),
            "state": answer.get("state"),
            "admin_assignee_id": answer.get("admin_assignee_id"),
        }

    @action("conversations.reply", SideEffect.WRITE)
    async def reply(
        self,
        conversation_id: Annotated[str, "The conversation's id."],
        admin_id: Annotated[str, "The teammate (admin) replying."],
        body: Annotated[str, "The reply (HTML or plain text)."],
        note: Annotated[bool, "An internal note instead of a reply the customer sees."] = False,
    ) -> dict[str, Any]:
        """Reply to a conversation as a teammate (or add an internal note)."""
        if not body.strip():
            raise ConnectorInvalid("a reply needs a body", service="Intercom")
        message = {
            "message_type": "note" if note else "comment",
            "type": "admin",
            "admin_id": admin_id,
            "body": body,
        }
        return await self._part(conversation_id, message, "reply")

    @action("conversations.close", SideEffect.WRITE)
    async def close(
        self,
        conversation_id: Annotated[str, "The conversation's id."],
        admin_id: Annotated[str, "The teammate closing it."],
        body: Annotated[str | None, "A closing message."] = None,
    ) -> dict[str, Any]:
        """Close a conversation."""
        message: dict[str, Any] = {"message_type": "close", "type": "admin", "admin_id": admin_id}
        if body:
            message["body"] = body
        return await self._part(conversation_id, message)

    @action("conversations.assign", SideEffect.WRITE)
    async def assign(
        self,
        conversation_id: Annotated[str, "The conversation's id."],
        admin_id: Annotated[str, "The teammate doing the assignment."],
        assignee_id: Annotated[str, "The teammate or team to assign it to."],
    ) -> dict[str, Any]:
        """Assign a conversation to a teammate or a team."""
        message = {
            "message_type": "assignment",
            "type": "admin",
            "admin_id": admin_id,
            "assignee_id": assignee_id,
        }
        return await self._part(conversation_id, message)

    # ------------------------------------------------------------------------------------------------ sync

    def sync_streams(self) -> Sequence[str]:
        return tuple(STREAMS)

    async def sync_page(self, stream: str, cursor: str | None, *, since: datetime | None) -> SyncPage:
        path, key = STREAMS[stream]
        pagination: dict[str, Any] = {"per_page": int(self.options.get("sync_page_size", _SYNC_PAGE))}
        if cursor:
            pagination["starting_after"] = cursor
        query = {"field": "updated_at", "operator": ">", "value": int(since.timestamp()) if since else 0}
        body = await self.http.json(
            "POST",
            path,
            json={
                "query": query,
                "pagination": pagination,
                "sort": {"field": "updated_at", "order": "ascending"},
            },
            reads=True,
        )
        records = [record_of(stream, item) for item in body.get(key) or []]
        following = _next(body)
        return SyncPage(records, following or cursor, following is None)

    async def sync_live_ids(self, stream: str) -> set[str] | None:
        if stream != "contacts":
            return None  # conversations and tickets are closed, not deleted
        return {str(c["id"]) for c in await self._list("/contacts", "data", 10_000_000)}

    def to_business(self, record: SyncRecord) -> Sequence[object]:
        return business_of(self.name, record)
