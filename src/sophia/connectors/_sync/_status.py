"""What `sophia sync status`, `GET /v1/connectors/NAME/sync` and the dashboard show: each stream's state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from sophia.connectors._sync._tables import SyncClockRow, SyncStreamRow
from sophia.store import Database, utcnow

__all__ = ["StreamStatus", "SyncStatus"]


@dataclass(frozen=True)
class StreamStatus:
    connector: str
    stream: str
    in_progress: bool
    """A run stopped (or is running) mid-stream: the next run resumes from its committed cursor."""
    high_water: datetime | None
    pages: int
    written: int
    updated: int
    deleted: int
    last_run_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    attempts: int

    def to_record(self) -> dict[str, Any]:
        age = None if self.last_success_at is None else (utcnow() - self.last_success_at).total_seconds()
        return {
            "stream": self.stream,
            "in_progress": self.in_progress,
            "high_water": _iso(self.high_water),
            "pages": self.pages,
            "written": self.written,
            "updated": self.updated,
            "deleted": self.deleted,
            "last_run_at": _iso(self.last_run_at),
            "last_success_at": _iso(self.last_success_at),
            "cursor_age_seconds": None if age is None else round(age, 1),
            "last_error": self.last_error,
            "last_error_at": _iso(self.last_error_at),
            "attempts": self.attempts,
        }


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


class SyncStatus:
    """Reads the sync state rows and takes the schedule's claims."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def streams(self, connector: str | None = None) -> list[StreamStatus]:
        query = sa.select(SyncStreamRow).order_by(SyncStreamRow.connector, SyncStreamRow.stream)
        if connector is not None:
            query = query.where(SyncStreamRow.connector == connector)
        async with self.database.session() as session:
            rows = (await session.scalars(query)).all()
        return [
            StreamStatus(
                r.connector,
                r.stream,
                r.cursor is not None,
                r.high_water,
                r.pages,
                r.written,
                r.updated,
                r.deleted,
                r.last_run_at,
                r.last_success_at,
                r.last_error,
                r.last_error_at,
                r.attempts,
            )
            for r in rows
        ]

    async def claim(self, connector: str, every_seconds: float) -> bool:
        """Take this period's scheduled sync of `connector`; of every process asking, one gets True."""
        now = utcnow()
        try:
            async with self.database.transaction() as session:
                if await session.get(SyncClockRow, connector) is None:
                    session.add(SyncClockRow(connector=connector, claimed_at=now))
                    return True
                claimed = await session.execute(
                    sa.update(SyncClockRow)
                    .where(
                        SyncClockRow.connector == connector,
                        SyncClockRow.claimed_at <= now - timedelta(seconds=every_seconds),
                    )
                    .values(claimed_at=now)
                )
                return int(getattr(claimed, "rowcount", 0) or 0) == 1
        except IntegrityError:  # another process inserted the first claim at the same moment
            return False
