"""The usage ledger: one row per request and per attempt, written in batches off the request path."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from operator import attrgetter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from sophia.gateway._health import DeploymentHealth, HealthBoard
from sophia.gateway._tables import DeploymentHealthRow, UsageAttemptRow, UsageRequestRow
from sophia.store import Database, utcnow

log = logging.getLogger("sophia.gateway.ledger")


@dataclass(slots=True)
class AttemptRecord:
    number: int
    model: str
    provider: str
    status: str
    http_status: int | None = None
    error_code: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    ttft_ms: float | None = None
    at: datetime = field(default_factory=utcnow)


@dataclass(slots=True)
class RequestRecord:
    id: str
    endpoint: str
    requested_model: str
    api_key_id: str | None
    user_id: str | None
    stream: bool
    task: str | None = None
    model: str | None = None
    provider: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    ttft_ms: float | None = None
    status: str = "ok"
    error_code: str | None = None
    at: datetime = field(default_factory=utcnow)
    cache_hit: bool = False
    saved_usd: float = 0.0
    variant: str | None = None
    attempts: list[AttemptRecord] = field(default_factory=list)
    admission: str | None = None
    """The budget reservation the request holds until it is charged (`BudgetGuard.admit`); not stored."""

    @property
    def fallbacks(self) -> int:
        return len({a.model for a in self.attempts}) - 1 if self.attempts else 0


class UsageLedger:
    """Queues records in memory and writes them in one transaction per batch.

    `record()` never waits on the database. `aclose()` drains everything, so a clean shutdown loses nothing. While
    the database refuses writes, rows wait for the next flush; past `max_pending` of them the oldest tenth is
    dropped, loudly, so an outage cannot grow the process until the kernel kills it (and every queued row with it).
    """

    def __init__(
        self,
        database: Database,
        *,
        health: HealthBoard | None = None,
        flush_interval: float = 0.25,
        batch_size: int = 500,
        max_pending: int = 200_000,
    ) -> None:
        self._database = database
        self._max_pending = max(1, max_pending)
        self.dropped = 0  # rows given up during outages, since start
        self._board = health
        self._flush_interval = flush_interval
        self._batch_size = batch_size
        self._pending: list[RequestRecord] = []
        self._writing: list[
            RequestRecord
        ] = []  # the batch a flush is writing: neither pending nor stored yet
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._inserts: tuple[_Insert, _Insert] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="usage-ledger")

    def record(self, request: RequestRecord) -> None:
        pending = self._pending
        pending.append(request)
        if len(pending) >= self._batch_size:
            self._wakeup.set()
            if len(pending) > self._max_pending:
                self._drop_oldest()

    def _drop_oldest(self) -> None:
        # In bulk: dropping one row per record would shift the whole list on every request.
        count = max(1, self._max_pending // 10)
        del self._pending[:count]
        self.dropped += count
        log.error(
            "usage ledger: the database has refused writes for %d queued rows; dropped the oldest %d "
            "(%d since start) to bound memory",
            self._max_pending,
            count,
            self.dropped,
        )

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def find(self, request_id: str) -> tuple[str | None, str | None, str | None, str | None] | None:
        """(task, model, user id, experiment variant) of a recorded request, queued or written; None if unknown."""
        for queued in (self._pending, self._writing):
            for record in reversed(queued):
                if record.id == request_id:
                    return record.task, record.model, record.user_id, record.variant
        table = UsageRequestRow.__table__
        query = sa.select(table.c.task, table.c.model, table.c.user_id, table.c.variant).where(
            table.c.id == request_id
        )
        async with self._database.engine.connect() as connection:
            row = (await connection.execute(query)).first()
        return (row[0], row[1], row[2], row[3]) if row is not None else None

    async def flush(self, *, health: bool = True) -> int:
        """Write everything queued now (and the dirty deployment health unless `health=False`).

        Returns the number of request rows written.
        """
        batch, self._pending = self._pending, []
        if batch:
            self._writing = batch
            try:
                try:
                    await self._write(batch)
                except sa.exc.IntegrityError:
                    await self._write_each(batch)
            except Exception:
                # Keep the rows for the next try rather than lose them; the error is logged once per batch.
                self._pending[:0] = batch
                log.exception("usage ledger write failed; %d request rows kept for retry", len(batch))
                raise
            finally:
                if self._writing is batch:
                    self._writing = []
        if health:
            await self._write_health()
        return len(batch)

    async def _write(self, batch: list[RequestRecord]) -> None:
        if self._inserts is None:
            dialect = self._database.engine.dialect
            self._inserts = (
                _Insert(UsageRequestRow.__table__, _REQUEST_COLUMNS, dialect),
                _Insert(UsageAttemptRow.__table__, _ATTEMPT_COLUMNS, dialect),
            )
        insert_requests, insert_attempts = self._inserts
        requests = [_request_row(record) for record in batch]
        attempts = [[*_attempt_values(a), record.id] for record in batch for a in record.attempts]
        async with self._database.engine.begin() as connection:
            await insert_requests.run(connection, requests)
            if attempts:
                await insert_attempts.run(connection, attempts)

    async def _write_each(self, batch: list[RequestRecord]) -> None:
        """A batch the database refused as a whole: row by row, renaming the ids that are taken.

        Request ids can come from the caller (`X-Request-ID`), so two requests may share one. Retrying the batch
        forever would stop the ledger for everyone; dropping a row would lose what was spent.
        """
        for index, record in enumerate(batch):
            try:
                try:
                    await self._write([record])
                except sa.exc.IntegrityError:
                    taken = record.id
                    record.id = f"{taken[:40]}~{secrets.token_hex(8)}"
                    log.warning(
                        "usage ledger: request id %r was already recorded; stored as %r", taken, record.id
                    )
                    await self._write([record])
            except Exception:
                del batch[:index]  # those are stored: only the rest goes back to the queue
                raise

    async def _write_health(self) -> None:
        dirty = self._board.take_dirty() if self._board is not None else []
        if not dirty:
            return
        try:
            async with self._database.session() as session, session.begin():
                for h in dirty:
                    await session.merge(DeploymentHealthRow(**h.to_dict(), extra=None))
        except Exception:
            if self._board is not None:
                self._board.dirty.update(h.deployment for h in dirty)
            log.exception("deployment health write failed; kept for the next flush")
            raise

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        health_due = loop.time()
        while not self._closing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self._flush_interval)
            self._wakeup.clear()
            # Health is a few smoothed numbers per deployment: once a second keeps a restart close enough, and
            # spares the ORM merge on every batch under load.
            health = loop.time() >= health_due
            if health:
                health_due = loop.time() + _HEALTH_INTERVAL
            with contextlib.suppress(Exception):
                await self.flush(health=health)

    async def aclose(self) -> None:
        self._closing = True
        self._wakeup.set()
        if self._task is not None:
            await self._task
            self._task = None
        await self.flush()


_HEALTH_INTERVAL = 1.0
_REQUEST_FIELDS = tuple(f.name for f in fields(RequestRecord) if f.name not in ("attempts", "admission"))
_ATTEMPT_FIELDS = tuple(f.name for f in fields(AttemptRecord))
_REQUEST_COLUMNS = (*_REQUEST_FIELDS, "attempts", "fallbacks")
_ATTEMPT_COLUMNS = (*_ATTEMPT_FIELDS, "request_id")
# One C call per row; `dataclasses.asdict` deep-copied every field and cost ~10x more.
_request_values = attrgetter(*_REQUEST_FIELDS)
_attempt_values = attrgetter(*_ATTEMPT_FIELDS)


def _request_row(record: RequestRecord) -> list[Any]:
    """A flat row in `_REQUEST_COLUMNS` order."""
    return [*_request_values(record), len(record.attempts), record.fallbacks]


class _Insert:
    """An INSERT compiled once for the dialect: rows go to the driver's executemany as plain tuples, with only the
    columns that need it (datetimes, booleans) passed through the column type's bind processor."""

    def __init__(self, table: Any, columns: Sequence[str], dialect: Dialect) -> None:
        self._table = table
        self._columns = tuple(columns)
        compiled = (
            table.insert().values({name: sa.bindparam(name) for name in columns}).compile(dialect=dialect)
        )
        order: Sequence[str] | None = compiled.positiontup if compiled.positional else None
        self._sql = str(compiled)
        self._order = [self._columns.index(name) for name in order] if order is not None else None
        processors = ((i, table.c[name].type.bind_processor(dialect)) for i, name in enumerate(self._columns))
        self._processors: list[tuple[int, Callable[[Any], Any]]] = [(i, p) for i, p in processors if p]

    async def run(self, connection: AsyncConnection, rows: list[list[Any]]) -> None:
        if self._order is None:  # a named paramstyle: let SQLAlchemy bind the rows
            await connection.execute(
                self._table.insert(), [dict(zip(self._columns, r, strict=True)) for r in rows]
            )
            return
        processors, order = self._processors, self._order
        for row in rows:
            for i, process in processors:
                row[i] = process(row[i])
        await connection.exec_driver_sql(self._sql, [tuple([row[i] for i in order]) for row in rows])


async def load_health(database: Database) -> list[DeploymentHealth]:
    async with database.session() as session:
        rows = (await session.execute(sa.select(DeploymentHealthRow))).scalars().all()
    return [
        DeploymentHealth(
            deployment=r.deployment,
            latency_ms=r.latency_ms,
            ttft_ms=r.ttft_ms,
            error_rate=r.error_rate,
            cost_usd=r.cost_usd,
            requests=r.requests,
            failures=r.failures,
            updated_at=r.updated_at,
        )
        for r in rows
    ]
