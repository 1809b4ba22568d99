"""A small service connector used to test the kit itself (the real services have their own modules)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from sophia.connectors import (
    CheckResult,
    Connector,
    Credential,
    WebhookEvent,
    action,
    collect_links,
    github_signature,
    verify_github,
)
from sophia.tools import SideEffect


class Notes(Connector):
    """A notes service: bearer token, Link paging, an idempotency-key header, HMAC-signed webhooks."""

    kind = "notes"
    title = "Notes"
    group = "integrations"
    default_base_url = "https://notes.invalid/api"
    credentials = (Credential("token", "an API token"),)
    idempotency_header = "Idempotency-Key"

    async def check(self) -> CheckResult:
        me = await self.http.json("GET", "/me")
        return CheckResult(True, f"signed in as {me['login']}", {"login": me["login"]})

    @action("notes.list")
    async def list_notes(self, limit: Annotated[int, "How many notes at most."] = 50) -> list[dict[str, Any]]:
        """The newest notes."""
        return await collect_links(self.http, "/notes", params={"per_page": 2}, limit=limit)

    @action("notes.create", SideEffect.WRITE)
    async def create_note(self, text: Annotated[str, "The note's text."]) -> dict[str, Any]:
        """Write a new note."""
        body: dict[str, Any] = await self.http.json("POST", "/notes", json={"text": text})
        return body

    @action("notes.delete", SideEffect.DESTROY)
    async def delete_note(self, note_id: int) -> dict[str, Any]:
        """Delete a note for good."""
        await self.http.request("DELETE", f"/notes/{note_id}")
        return {"deleted": note_id}

    def verify_webhook(self, headers: dict[str, str], body: bytes, secret: str) -> WebhookEvent:
        verify_github(secret, body, headers.get("x-hub-signature-256"))
        payload = json.loads(body)
        return WebhookEvent(
            type=f"note.{payload['action']}",
            id=headers.get("x-delivery", ""),
            payload=payload,
            summary=payload.get("text", ""),
        )


def signed(secret: str, payload: dict[str, Any]) -> tuple[bytes, str]:
    body = json.dumps(payload).encode()
    return body, github_signature(secret, body)
