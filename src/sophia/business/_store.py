"""`BusinessStore`: upsert records by (source, source_id), soft-delete what the source deleted, read for analysis.

Every write accepts the caller's session, so a sync can commit a page's records and its cursor in one transaction.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from sophia.business._entities import ENTITY_KINDS, BusinessRecord
from sophia.business._join import AccountIndex
from sophia.business._tables import entity_columns, table_for
from sophia.store import Database, utcnow

__all__ = ["BusinessStore", "Row"]

Row = dict[str, Any]
_BATCH = 200
_ID_BATCH = 500
_LINKED_KINDS = {"calls": "participants", "activities": "emails"}


def _record_values(record: BusinessRecord) -> Row:
    values = {name: getattr(record, name) for name in entity_columns(type(record))}
    values["deleted_at"] = None
    return values


def _participant_emails(row: Row, field: str) -> list[str | None]:
    if field == "emails":
        return list(row.get("emails") or [])
    return [p.get("email") for p in row.get("participants") or [] if p.get("role") != "rep"]


class BusinessStore:
    """The unified business tables (`biz_*`) on SQLite or PostgreSQL."""

    def __init__(self, database: Database) -> None:
        self.database = database

    @asynccontextmanager
    async def _session(self, session: AsyncSession | None) -> AsyncIterator[AsyncSession]:
        if session is not None:
            yield session
            return
        async with self.database.transaction() as own:
            yield own

    def _insert(self, table: sa.Table) -> Any:
        if self.database.dialect == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    async def upsert(self, records: Iterable[BusinessRecord], *, session: AsyncSession | None = None) -> int:
        """Insert or update each record by (source, source_id), undeleting it; an older version never overwrites
        a newer one (a replayed page changes nothing). Returns how many records were given."""
        grouped: dict[str, dict[tuple[str, str], Row]] = {}
        for record in records:
            grouped.setdefault(record.KIND, {})[(record.source, record.source_id)] = _record_values(record)
        async with self._session(session) as active:
            for kind, by_key in grouped.items():
                rows = list(by_key.values())
                for start in range(0, len(rows), _BATCH):
                    await active.execute(self._upsert_statement(kind, rows[start : start + _BATCH]))
        return sum(len(rows) for rows in grouped.values())

    def _upsert_statement(self, kind: str, rows: list[Row]) -> Any:
        table = table_for(kind)
        statement = self._insert(table).values(rows)
        changing = [c for c in rows[0] if c not in ("source", "source_id")]
        return statement.on_conflict_do_update(
            index_elements=["source", "source_id"],
            set_={name: statement.excluded[name] for name in changing},
            where=table.c.updated_at <= statement.excluded.updated_at,
        )

    async def mark_deleted(
        self, source: str, kind: str, ids: Iterable[str], *, session: AsyncSession | None = None
    ) -> int:
        """Soft-delete these records of `source`; returns how many were live."""
        table, wanted, count = table_for(kind), sorted(set(ids)), 0
        async with self._session(session) as active:
            for start in range(0, len(wanted), _ID_BATCH):
                result = await active.execute(
                    sa.update(table)
                    .where(table.c.source == source, table.c.source_id.in_(wanted[start : start + _ID_BATCH]))
                    .where(table.c.deleted_at.is_(None))
                    .values(deleted_at=utcnow())
                )
                count += int(getattr(result, "rowcount", 0) or 0)
        return count

    async def mark_missing(
        self, source: str, kind: str, live_ids: Collection[str], *, session: AsyncSession | None = None
    ) -> int:
        """Soft-delete every live record of `source` whose id the source no longer lists."""
        table = table_for(kind)
        async with self._session(session) as active:
            known = await active.scalars(
                sa.select(table.c.source_id).where(table.c.source == source, table.c.deleted_at.is_(None))
            )
            gone = [source_id for source_id in known.all() if source_id not in live_ids]
            return await self.mark_deleted(source, kind, gone, session=active)

    async def rows(
        self,
        kind: str,
        *,
        source: str | Sequence[str] | None = None,
        include_deleted: bool = False,
    ) -> list[Row]:
        """Rows of one kind as dicts (every column, `source_url` included for citations), oldest id first."""
        table = table_for(kind)
        query = sa.select(table).order_by(table.c.id)
        if isinstance(source, str):
            query = query.where(table.c.source == source)
        elif source is not None:
            query = query.where(table.c.source.in_(list(source)))
        if not include_deleted:
            query = query.where(table.c.deleted_at.is_(None))
        async with self.database.session() as session:
            result = await session.execute(query)
            return [dict(row) for row in result.mappings().all()]

    async def frames(
        self,
        *,
        source: str | Sequence[str] | None = None,
        kinds: Iterable[str] | None = None,
        include_deleted: bool = False,
    ) -> dict[str, list[Row]]:
        """Kind → rows, for analysis; every kind unless `kinds` names some."""
        return {
            kind: await self.rows(kind, source=source, include_deleted=include_deleted)
            for kind in (kinds or ENTITY_KINDS)
        }

    async def counts(self, *, source: str | None = None) -> dict[str, int]:
        """Live rows per kind."""
        counts: dict[str, int] = {}
        async with self.database.session() as session:
            for kind in ENTITY_KINDS:
                table = table_for(kind)
                query = sa.select(sa.func.count()).select_from(table).where(table.c.deleted_at.is_(None))
                if source is not None:
                    query = query.where(table.c.source == source)
                counts[kind] = int((await session.execute(query)).scalar_one())
        return counts

    async def linked(
        self, kind: str, *, crm_source: str | Sequence[str] | None = None, source: str | None = None
    ) -> list[Row]:
        """Calls or activities with the CRM account they belong to: `account_source`, `account_source_id`,
        `account_name` and `account_matched_by` ("link" for a same-source link, else by email; None unmatched)."""
        if kind not in _LINKED_KINDS:
            raise ValueError(f"linked() joins calls or activities, not {kind!r}")
        accounts = await self.rows("accounts", source=crm_source)
        index = AccountIndex(accounts, await self.rows("contacts", source=crm_source))
        names = {(a["source"], a["source_id"]): a["name"] for a in accounts}
        joined = []
        for row in await self.rows(kind, source=source):
            own = (row["source"], str(row.get("account_id") or ""))
            if own in names:
                extra = {"account_source": own[0], "account_source_id": own[1], "account_name": names[own]}
                extra["account_matched_by"] = "link"
            else:
                match = index.match(_participant_emails(row, _LINKED_KINDS[kind]))
                extra = {
                    "account_source": match.source if match else None,
                    "account_source_id": match.account_id if match else None,
                    "account_name": match.name if match else None,
                    "account_matched_by": match.matched_by if match else None,
                }
            joined.append({**row, **extra})
        return joined
