"""The sync state (migration 0012): a cursor and last error per (connector, stream), and each record's memory."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from sophia.store import Base, UtcDateTime

__all__ = ["SyncClockRow", "SyncRecordRow", "SyncStreamRow"]


class SyncStreamRow(Base):
    """Where a stream's sync stands; `cursor` is committed with the page it follows."""

    __tablename__ = "sync_streams"

    connector: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    stream: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    cursor: Mapped[str | None] = mapped_column(sa.Text)
    """Not None while a run is under way: a resumed run continues from it."""
    run_since: Mapped[datetime | None] = mapped_column(UtcDateTime)
    """The `since` the run under way started with (None: everything)."""
    high_water: Mapped[datetime | None] = mapped_column(UtcDateTime)
    """The newest `updated_at` written; the next incremental run asks for records since it."""
    pages: Mapped[int] = mapped_column(sa.Integer, default=0)
    written: Mapped[int] = mapped_column(sa.Integer, default=0)
    updated: Mapped[int] = mapped_column(sa.Integer, default=0)
    deleted: Mapped[int] = mapped_column(sa.Integer, default=0)
    last_run_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    last_error_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    """Failed runs in a row (0 after a success)."""


class SyncRecordRow(Base):
    """One synced record: the version written, so a replay writes nothing twice and a change supersedes it."""

    __tablename__ = "sync_records"

    connector: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    stream: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    record_id: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    memory_id: Mapped[str] = mapped_column(sa.String(32))
    business_kinds: Mapped[str] = mapped_column(sa.String(200), default="")
    """Comma-separated `biz_*` kinds the record maps to (for deletions)."""
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class SyncClockRow(Base):
    """When a connector's scheduled sync last ran, for the whole install (one claim per period)."""

    __tablename__ = "sync_clock"

    connector: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    claimed_at: Mapped[datetime] = mapped_column(UtcDateTime)
