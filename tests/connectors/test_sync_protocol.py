"""The sync protocol's shape: what a syncable connector implements, as BUSINESS.md fixes it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from sophia.connectors import Syncable, SyncPage, SyncRecord


class _Listing:
    def sync_streams(self) -> Sequence[str]:
        return ("items",)

    async def sync_page(self, stream: str, cursor: str | None, *, since: datetime | None) -> SyncPage:
        record = SyncRecord("items", "1", datetime(2026, 5, 2, tzinfo=UTC), "Item 1", "Item 1 text", None, {})
        return SyncPage([record], None, True)

    async def sync_live_ids(self, stream: str) -> set[str] | None:
        return None

    def to_business(self, record: SyncRecord) -> Sequence[object]:
        return ()


def test_a_class_with_the_four_methods_is_syncable() -> None:
    assert isinstance(_Listing(), Syncable)
    assert not isinstance(object(), Syncable)


def test_records_are_frozen_and_not_deleted_by_default() -> None:
    record = SyncRecord(
        "deals", "7", datetime(2026, 5, 2, tzinfo=UTC), "Deal", "text", "https://x/7", {"a": 1}
    )
    assert record.deleted is False
    with pytest.raises(AttributeError):
        record.id = "8"  # type: ignore[misc]
