"""What Sophia remembers about its connectors: the last check of each, and the inbound events it accepted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from sophia.store import Base, Database, JsonType, UtcDateTime, utcnow

__all__ = ["CheckRecord", "ConnectorCheckRow", "ConnectorEventRow", "EventRecord", "ConnectorState"]


class ConnectorCheckRow(Base):
    __tablename__ = "connector_checks"

    name: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    ok: Mapped[bool] = mapped_column(sa.Boolean)
    message: Mapped[str] = mapped_column(sa.Text)
    checked_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ConnectorEventRow(Base):
    __tablename__ = "connector_events"
    __table_args__ = (sa.UniqueConstraint("connector", "delivery_id"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    connector: Mapped[str] = mapped_column(sa.String(32), index=True)
    delivery_id: Mapped[str] = mapped_column(sa.String(120))
    type: Mapped[str] = mapped_column(sa.String(120))
    summary: Mapped[str] = mapped_column(sa.Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JsonType)
    run_id: Mapped[str | None] = mapped_column(sa.String(64))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


@dataclass(frozen=True, slots=True)
class CheckRecord:
    name: str
    ok: bool
    message: str
    checked_at: datetime


@dataclass(frozen=True, slots=True)
class EventRecord:
    id: int
    connector: str
    delivery_id: str
    type: str
    summary: str
    run_id: str | None
    received_at: datetime


class ConnectorState:
    """Rows behind `sophia connectors list`, the Connectors page and webhook deduplication."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def record_check(self, name: str, ok: bool, message: str) -> None:
        async with self.database.transaction() as session:
            row = await session.get(ConnectorCheckRow, name)
            if row is None:
                session.add(ConnectorCheckRow(name=name, ok=ok, message=message[:2000], checked_at=utcnow()))
            else:
                row.ok, row.message, row.checked_at = ok, message[:2000], utcnow()

    async def checks(self) -> dict[str, CheckRecord]:
        async with self.database.session() as session:
            rows = (await session.scalars(sa.select(ConnectorCheckRow))).all()
        return {r.name: CheckRecord(r.name, r.ok, r.message, r.checked_at) for r in rows}

    async def add_event(
        self, connector: str, delivery_id: str, type_: str, summary: str, payload: dict[str, Any]
    ) -> int | None:
        """The new event's id, or None when this delivery was already accepted (the service retried it)."""
        row = ConnectorEventRow(
            connector=connector,
            delivery_id=delivery_id[:120],
            type=type_[:120],
            summary=summary[:2000],
            payload=payload,
            received_at=utcnow(),
        )
        try:
            async with self.database.transaction() as session:
                session.add(row)
                await session.flush()
                return int(row.id)
        except IntegrityError:
            return None

    async def link_run(self, event_id: int, run_id: str) -> None:
        async with self.database.transaction() as session:
            await session.execute(
                sa.update(ConnectorEventRow).where(ConnectorEventRow.id == event_id).values(run_id=run_id)
            )

    async def events(self, connector: str | None = None, limit: int = 50) -> list[EventRecord]:
        query = sa.select(ConnectorEventRow).order_by(ConnectorEventRow.id.desc()).limit(limit)
        if connector is not None:
            query = query.where(ConnectorEventRow.connector == connector)
        async with self.database.session() as session:
            rows = (await session.scalars(query)).all()
        return [
            EventRecord(r.id, r.connector, r.delivery_id, r.type, r.summary, r.run_id, r.received_at)
            for r in rows
        ]
