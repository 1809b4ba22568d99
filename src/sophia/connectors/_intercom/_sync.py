"""Intercom records as sync records and business entities (contacts, conversations, tickets)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sophia.business import Activity, Contact
from sophia.connectors._sync import SyncRecord

__all__ = ["STREAMS", "business_of", "record_of"]

STREAMS: dict[str, tuple[str, str]] = {
    "contacts": ("/contacts/search", "data"),
    "conversations": ("/conversations/search", "conversations"),
    "tickets": ("/tickets/search", "tickets"),
}
"""Stream -> (search path, the list's key in the answer)."""

_APP = "https://app.intercom.com/a/inbox/_/inbox/conversation"


def when(epoch: Any) -> datetime | None:
    return None if epoch in (None, 0) else datetime.fromtimestamp(int(epoch), UTC)


def record_of(stream: str, item: dict[str, Any]) -> SyncRecord:
    updated = when(item.get("updated_at")) or when(item.get("created_at")) or datetime.now(UTC)
    if stream == "contacts":
        title = item.get("name") or item.get("email") or item["id"]
        text = f"Intercom {item.get('role', 'contact')} {title} <{item.get('email') or 'no email'}>"
        url = None
    elif stream == "conversations":
        source = item.get("source") or {}
        title = item.get("title") or source.get("subject") or f"Conversation {item['id']}"
        text = f"Intercom conversation {title} ({item.get('state', 'open')}): {_plain(source.get('body'))}"
        url = f"{_APP}/{item['id']}"
    else:
        attributes = item.get("ticket_attributes") or {}
        title = attributes.get("_default_title_") or f"Ticket {item['id']}"
        text = f"Intercom ticket {title} ({item.get('ticket_state', 'submitted')}): "
        text += _plain(attributes.get("_default_description_"))
        url = None
    return SyncRecord(stream, str(item["id"]), updated, str(title), text.strip(), url, item)


def _plain(html: Any) -> str:
    import re

    return re.sub(r"<[^>]+>", " ", str(html or "")).strip()[:4000]


def business_of(name: str, record: SyncRecord) -> Sequence[object]:
    item = record.data
    base: dict[str, Any] = {
        "source": name,
        "source_kind": "intercom",
        "source_id": record.id,
        "source_url": record.url,
        "updated_at": record.updated_at,
    }
    if record.stream == "contacts":
        companies = (item.get("companies") or {}).get("data") or []
        return [
            Contact(
                **base,
                name=str(item.get("name") or item.get("email") or record.id),
                email=item.get("email"),
                account_id=str(companies[0]["id"]) if companies else None,
                created_at=when(item.get("created_at")),
            )
        ]
    occurred = when(item.get("created_at")) or record.updated_at
    if record.stream == "conversations":
        author = ((item.get("source") or {}).get("author") or {}).get("email")
        return [
            Activity(
                **base,
                kind="conversation",
                occurred_at=occurred,
                subject=record.title,
                body=record.text,
                status=item.get("state"),
                priority="P1" if item.get("priority") == "priority" else None,
                emails=[author] if author else [],
            )
        ]
    return [
        Activity(
            **base,
            kind="ticket",
            occurred_at=occurred,
            subject=record.title,
            body=record.text,
            status="closed" if item.get("ticket_state") == "resolved" else "open",
        )
    ]
