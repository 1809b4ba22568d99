"""The usage ledger: one row per request and per attempt, written in batches off the request path."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime

import sqlalchemy as sa

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
    attempts: list[AttemptRecord] = field(default_factory=list)

    @property
    def fallbacks(self) -> int:
        return len({a.model for a in self.attempts}) - 1 if self.attempts else 0


class UsageLedger:
    """Queues records in memory and writes them in one transaction per batch.

    `record()` never waits on the database. `aclose()` drains everything, so a clean shutdown loses nothing.
    """

    def __init__(
        self,
        database: Database,
        *,
        health: HealthBoard | None = None,
        flush_interval: float = 0.25,
        batch_size: int = 500,
    ) -> None:
        self._database = database
        self._board = health
        self._flush_interval = flush_interval
        self._batch_size = batch_size
        self._pending: list[RequestRecord] = []
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="usage-ledger")

    def record(self, request: RequestRecord) -> None:
        self._pending.append(request)
        if len(self._pending) >= self._batch_size:
            self._wakeup.set()

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def flush(self) -> int:
        """Write everything queued now; returns the number of request rows written."""
        batch, self._pending = self._pending, []
        health = self._board.take_dirty() if self._board is not None else []
        if not batch and not health:
            return 0
        try:
            await self._write(batch, health)
        except Exception:
            # Keep the rows for the next try rather than lose them; the error is logged once per batch.
            self._pending[:0] = batch
            if self._board is not None:
                self._board.dirty.update(h.deployment for h in health)
            log.exception("usage ledger write failed; %d request rows kept for retry", len(batch))
            raise
        return len(batch)

    async def _write(self, batch: list[RequestRecord], health: list[DeploymentHealth]) -> None:
        requests: list[dict[str, object]] = []
        attempts: list[dict[str, object]] = []
        for record in batch:
            row = asdict(record)
            row.pop("attempts")
            row["attempts"] = len(record.attempts)
            row["fallbacks"] = record.fallbacks
            requests.append(row)
            attempts.extend({**asdict(a), "request_id": record.id} for a in record.attempts)
        async with self._database.session() as session, session.begin():
            if requests:
                await session.execute(sa.insert(UsageRequestRow), requests)
            if attempts:
                await session.execute(sa.insert(UsageAttemptRow), attempts)
            for h in health:
                await session.merge(DeploymentHealthRow(**h.to_dict(), extra=None))

    async def _run(self) -> None:
        while not self._closing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self._flush_interval)
            self._wakeup.clear()
            with contextlib.suppress(Exception):
                await self.flush()

    async def aclose(self) -> None:
        self._closing = True
        self._wakeup.set()
        if self._task is not None:
            await self._task
            self._task = None
        await self.flush()


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
