"""What a connector implements to be synced: pages of records per stream, live ids, business entities.

The engine commits `SyncPage.cursor` in the same transaction as the page's writes, so a resumed sync passes the
last committed cursor back and writes nothing twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

__all__ = ["SyncPage", "SyncRecord", "Syncable"]


@dataclass(frozen=True)
class SyncRecord:
    stream: str
    """The kind of record: "companies", "deals", "calls", "issues", …"""
    id: str
    """The service's own id."""
    updated_at: datetime
    """The service's modified time (UTC)."""
    title: str
    """A short human title ("Deal Acme-Q3")."""
    text: str
    """What memory stores and recalls ("Deal Acme-Q3 … stage Closed Won on 2026-05-02")."""
    url: str | None
    """A link to the record in the service."""
    data: Mapping[str, Any]
    """The raw record as the service sent it."""
    deleted: bool = False


@dataclass(frozen=True)
class SyncPage:
    records: Sequence[SyncRecord]
    cursor: str | None
    """Opaque; committed after this page is written; a resumed sync passes it back."""
    done: bool


@runtime_checkable
class Syncable(Protocol):
    def sync_streams(self) -> Sequence[str]: ...

    async def sync_page(self, stream: str, cursor: str | None, *, since: datetime | None) -> SyncPage: ...

    async def sync_live_ids(self, stream: str) -> set[str] | None:
        """Every id the service still has in the stream; None: no deletion detection for the stream."""
        ...

    def to_business(self, record: SyncRecord) -> Sequence[object]:
        """Unified-model entities for `sophia.business.BusinessStore.upsert` (may be empty)."""
        ...
