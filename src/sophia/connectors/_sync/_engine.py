"""`SyncEngine`: pull a `Syncable` stream by stream into memory and the business tables, resumably.

Each page is one transaction: its memory versions, its business upserts, its `sync_records` and the new cursor
commit together, so a process killed between pages resumes from the last committed cursor and a replayed page
writes nothing twice (a record is written only when its `updated_at` is newer than the version on file).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from sophia.business import BusinessRecord, BusinessStore
from sophia.connectors._sync._protocol import Syncable, SyncPage, SyncRecord
from sophia.connectors._sync._tables import SyncRecordRow, SyncStreamRow
from sophia.errors import InvalidInput
from sophia.memory import MemoryKind, MemoryService, PendingVersions, Version
from sophia.store import Database, utcnow

__all__ = ["NotSyncable", "StreamResult", "SyncEngine", "SyncReport", "UnknownStream", "namespace_of"]

log = logging.getLogger("sophia.connectors.sync")
_CONVERSATION_STREAMS = {"calls", "conversations", "tickets"}


class UnknownStream(InvalidInput):
    """`--stream` names a stream the connector does not have."""

    code = "unknown_stream"


class NotSyncable(InvalidInput):
    """The connector's service has no records to sync (it does not implement `Syncable`)."""

    code = "not_syncable"


def namespace_of(connector: str) -> str:
    return f"connector:{connector}"


@dataclass
class StreamResult:
    stream: str
    pages: int = 0
    written: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    error: str | None = None


@dataclass
class SyncReport:
    connector: str
    streams: list[StreamResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(s.error is None for s in self.streams)

    def totals(self) -> dict[str, int]:
        keys = ("pages", "written", "updated", "unchanged", "deleted")
        return {k: sum(getattr(s, k) for s in self.streams) for k in keys}


Progress = Callable[[StreamResult], None]


class SyncEngine:
    """Runs syncs of any `Syncable` connector against one database, memory service and business store."""

    def __init__(
        self, database: Database, memory: MemoryService, business: BusinessStore | None = None
    ) -> None:
        self.database = database
        self.memory = memory
        self.business = business or BusinessStore(database)

    async def run(
        self,
        name: str,
        source: Syncable,
        *,
        full: bool = False,
        streams: Sequence[str] | None = None,
        progress: Progress | None = None,
    ) -> SyncReport:
        """Sync the given streams (all by default); one stream's failure is recorded and the others still run."""
        known = list(source.sync_streams())
        for stream in streams or ():
            if stream not in known:
                raise UnknownStream(f"connector {name} has no stream {stream!r}; it has {', '.join(known)}")
        report = SyncReport(name)
        for stream in streams or known:
            result = StreamResult(stream)
            report.streams.append(result)
            try:
                await self._run_stream(name, source, stream, full, result, progress)
            except Exception as error:  # recorded per stream; committed pages stay committed
                result.error = f"{type(error).__name__}: {error}"[:2000]
                log.warning("sync %s/%s failed: %s", name, stream, result.error)
                await self._record_error(name, stream, result.error)
        return report

    async def _run_stream(
        self,
        name: str,
        source: Syncable,
        stream: str,
        full: bool,
        result: StreamResult,
        progress: Progress | None,
    ) -> None:
        cursor, since = await self._begin(name, stream, full)
        while True:
            page = await source.sync_page(stream, cursor, since=since)
            await self._commit_page(name, source, stream, page, result)
            result.pages += 1
            if progress is not None:
                progress(result)
            cursor = page.cursor
            if page.done:
                break
        live = await source.sync_live_ids(stream)
        if live is not None:
            result.deleted += await self._sweep(name, stream, live)
        await self._finish(name, stream, result)

    async def _begin(self, name: str, stream: str, full: bool) -> tuple[str | None, datetime | None]:
        async with self.database.transaction() as session:
            row = await session.get(SyncStreamRow, (name, stream))
            if row is None:
                row = SyncStreamRow(connector=name, stream=stream, pages=0, written=0, updated=0, deleted=0)
                row.attempts = 0
                session.add(row)
            row.last_run_at = utcnow()
            if full:
                row.cursor, row.run_since = None, None
            elif row.cursor is None:
                row.run_since = row.high_water
            return row.cursor, row.run_since

    async def _commit_page(
        self, name: str, source: Syncable, stream: str, page: SyncPage, result: StreamResult
    ) -> None:
        async with self.database.transaction() as session:
            known = await self._known(session, name, stream, [r.id for r in page.records])
            versions: list[Version] = []
            closing: list[str] = []
            entities: list[BusinessRecord] = []
            kept: list[tuple[SyncRecord, SyncRecordRow | None, list[BusinessRecord] | None]] = []
            for record in _newest(page.records):
                current = known.get(record.id)
                if current is not None and current.updated_at >= record.updated_at:
                    result.unchanged += 1
                    continue
                if record.deleted:
                    if current is not None and current.deleted_at is None:
                        closing.append(current.memory_id)
                        kept.append((record, current, None))
                    continue
                live = current if current is not None and current.deleted_at is None else None
                versions.append(_version(name, record, live.memory_id if live else None))
                business = [e for e in source.to_business(record) if isinstance(e, BusinessRecord)]
                entities.extend(business)
                kept.append((record, current, business))
            conn = await session.connection()
            pending = await self.memory.write_versions(conn, versions, close=closing)
            if entities:
                await self.business.upsert(entities, session=session)
            await self._record(session, name, stream, kept, pending.ids, result)
            row = await session.get(SyncStreamRow, (name, stream))
            assert row is not None
            row.cursor = page.cursor
            row.pages += 1
            newest = max((r.updated_at for r in page.records), default=None)
            if newest is not None and (row.high_water is None or newest > row.high_water):
                row.high_water = newest
        await self._publish(pending)

    async def _publish(self, pending: PendingVersions) -> None:
        await self.memory.publish(pending)

    async def _known(
        self, session: AsyncSession, name: str, stream: str, ids: Sequence[str]
    ) -> dict[str, SyncRecordRow]:
        if not ids:
            return {}
        rows = await session.scalars(
            sa.select(SyncRecordRow).where(
                SyncRecordRow.connector == name,
                SyncRecordRow.stream == stream,
                SyncRecordRow.record_id.in_(list(set(ids))),
            )
        )
        return {r.record_id: r for r in rows.all()}

    async def _record(
        self,
        session: AsyncSession,
        name: str,
        stream: str,
        kept: list[tuple[SyncRecord, SyncRecordRow | None, list[BusinessRecord] | None]],
        new_ids: Sequence[str],
        result: StreamResult,
    ) -> None:
        ids = iter(new_ids)
        gone: dict[str, list[str]] = {}
        for record, current, business in kept:
            if business is None:
                assert current is not None
                current.deleted_at, current.updated_at = utcnow(), record.updated_at
                for kind in filter(None, current.business_kinds.split(",")):
                    gone.setdefault(kind, []).append(record.id)
                result.deleted += 1
                continue
            kinds = ",".join(sorted({b.KIND for b in business}))[:200]
            memory_id = next(ids)
            if current is None:
                session.add(
                    SyncRecordRow(
                        connector=name,
                        stream=stream,
                        record_id=record.id,
                        updated_at=record.updated_at,
                        memory_id=memory_id,
                        business_kinds=kinds,
                    )
                )
                result.written += 1
            else:
                current.updated_at, current.memory_id, current.deleted_at = record.updated_at, memory_id, None
                current.business_kinds = kinds
                result.updated += 1
        for kind, record_ids in gone.items():
            await self.business.mark_deleted(name, kind, record_ids, session=session)

    async def _sweep(self, name: str, stream: str, live: set[str]) -> int:
        """Records the service no longer lists: memory validity closed (a version), business rows soft-deleted."""
        async with self.database.transaction() as session:
            rows = await session.scalars(
                sa.select(SyncRecordRow).where(
                    SyncRecordRow.connector == name,
                    SyncRecordRow.stream == stream,
                    SyncRecordRow.deleted_at.is_(None),
                )
            )
            gone = [r for r in rows.all() if r.record_id not in live]
            if not gone:
                return 0
            conn = await session.connection()
            pending = await self.memory.write_versions(conn, [], close=[r.memory_id for r in gone])
            by_kind: dict[str, list[str]] = {}
            for row in gone:
                row.deleted_at = utcnow()
                for kind in filter(None, row.business_kinds.split(",")):
                    by_kind.setdefault(kind, []).append(row.record_id)
            for kind, ids in by_kind.items():
                await self.business.mark_deleted(name, kind, ids, session=session)
        await self._publish(pending)
        return len(gone)

    async def _finish(self, name: str, stream: str, result: StreamResult) -> None:
        async with self.database.transaction() as session:
            row = await session.get(SyncStreamRow, (name, stream))
            assert row is not None
            row.cursor = None
            row.written, row.updated, row.deleted = result.written, result.updated, result.deleted
            row.last_success_at, row.attempts = utcnow(), 0

    async def _record_error(self, name: str, stream: str, message: str) -> None:
        async with self.database.transaction() as session:
            row = await session.get(SyncStreamRow, (name, stream))
            if row is None:
                return
            row.last_error, row.last_error_at = message, utcnow()
            row.attempts = (row.attempts or 0) + 1


def _newest(records: Sequence[SyncRecord]) -> list[SyncRecord]:
    """A page listing one id twice keeps its newest version."""
    by_id: dict[str, SyncRecord] = {}
    for record in records:
        seen = by_id.get(record.id)
        if seen is None or record.updated_at > seen.updated_at:
            by_id[record.id] = record
    return list(by_id.values())


def _version(name: str, record: SyncRecord, supersedes: str | None) -> Version:
    kind = MemoryKind.CONVERSATION if record.stream in _CONVERSATION_STREAMS else MemoryKind.FACT
    text = record.text if record.text.strip() else record.title or record.id
    return Version(
        content=text,
        namespace=namespace_of(name),
        kind=kind,
        metadata={
            "source": name,
            "stream": record.stream,
            "id": record.id,
            "title": record.title,
            "url": record.url,
            "updated_at": record.updated_at.isoformat(),
        },
        source=f"{name}:{record.stream}",
        occurred_at=record.updated_at,
        supersedes=supersedes,
    )
