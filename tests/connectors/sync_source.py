"""A `Syncable` test double that is real code: a ledger of tickets paged by offset, changeable between runs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sophia.business import WorkItem
from sophia.connectors import SyncPage, SyncRecord

T0 = datetime(2026, 5, 1, tzinfo=UTC)


@dataclass
class Ledger:
    """Items `0..n-1` in stream "items", `page_size` per page; `fail_after` pages raises (a service outage)."""

    n: int = 25
    page_size: int = 10
    fail_after: int | None = None
    texts: dict[str, str] = field(default_factory=dict)
    updated: dict[str, datetime] = field(default_factory=dict)
    cursors_seen: list[str | None] = field(default_factory=list)
    since_seen: list[datetime | None] = field(default_factory=list)
    served: int = 0

    def __post_init__(self) -> None:
        for i in range(self.n):
            self.texts[str(i)] = f"ticket {i} about invoices"
            self.updated[str(i)] = T0 + timedelta(minutes=i)

    def change(self, record_id: str, text: str, minutes_later: int = 1000) -> None:
        self.texts[record_id] = text
        self.updated[record_id] = T0 + timedelta(minutes=minutes_later)

    def delete(self, record_id: str) -> None:
        del self.texts[record_id]
        del self.updated[record_id]

    def sync_streams(self) -> Sequence[str]:
        return ("items",)

    async def sync_page(self, stream: str, cursor: str | None, *, since: datetime | None) -> SyncPage:
        self.cursors_seen.append(cursor)
        self.since_seen.append(since)
        if self.fail_after is not None and self.served >= self.fail_after:
            raise ConnectionError("the ledger is down")
        self.served += 1
        ids = sorted((i for i in self.texts if since is None or self.updated[i] > since), key=int)
        start = int(cursor or 0)
        chunk = ids[start : start + self.page_size]
        done = start + self.page_size >= len(ids)
        return SyncPage([self._record(i) for i in chunk], None if done else str(start + self.page_size), done)

    def _record(self, record_id: str) -> SyncRecord:
        return SyncRecord(
            "items",
            record_id,
            self.updated[record_id],
            f"Ticket {record_id}",
            self.texts[record_id],
            f"https://ledger.invalid/items/{record_id}",
            {"id": record_id},
        )

    async def sync_live_ids(self, stream: str) -> set[str] | None:
        return set(self.texts)

    def to_business(self, record: SyncRecord) -> Sequence[object]:
        return [
            WorkItem(
                source="ledger",
                source_kind="ledger",
                source_id=record.id,
                source_url=record.url,
                updated_at=record.updated_at,
                title=record.text,
            )
        ]
