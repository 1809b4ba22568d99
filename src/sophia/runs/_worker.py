"""`RunWorker`: hosts DBOS in this process, takes runs from the shared queue, and watches other workers.

DBOS recovers only its own executor's workflows at launch. The watchdog fills the gap: each worker writes a
heartbeat row; a live worker re-enqueues the pending workflows of any executor whose heartbeat is stale
or gone (DBOS's recovery is idempotent, so two watchdogs recovering the same executor is harmless).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import sqlalchemy as sa
from dbos import DBOS

from sophia.runs import _workflow  # noqa: F401  (registers the run workflow with DBOS before launch)
from sophia.runs._runtime import RunRuntime, install_runtime
from sophia.runs._settings import APP_VERSION, QUEUE, RunSettings, default_executor_id
from sophia.runs._tables import RunWorkerRow
from sophia.store import utcnow

__all__ = ["RunWorker"]

log = logging.getLogger("sophia.runs")


class RunWorker:
    """One per process. `start()` must run inside the process's event loop: DBOS then runs workflows on it."""

    def __init__(
        self,
        runtime: RunRuntime,
        *,
        system_database_url: str,
        executor_id: str | None = None,
        settings: RunSettings | None = None,
    ) -> None:
        self.runtime = runtime
        self.system_database_url = system_database_url
        self.executor_id = executor_id or default_executor_id()
        self.settings = settings or RunSettings()
        self.recovered: list[str] = []
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        install_runtime(self.runtime)
        await self._beat()  # before launch, so no other watchdog takes this executor for dead
        DBOS(
            config={
                "name": "sophia",
                "system_database_url": self.system_database_url,
                "executor_id": self.executor_id,
                "application_version": APP_VERSION,
                "log_level": "WARNING",
                "notification_listener_polling_interval_sec": 0.2,
            }
        )
        DBOS.launch()
        await DBOS.register_queue_async(
            QUEUE,
            worker_concurrency=self.settings.concurrency,
            polling_interval_sec=self.settings.queue_poll_seconds,
            on_conflict="always_update",
        )
        self._tasks = [
            asyncio.create_task(self._heartbeat(), name="sophia-runs-heartbeat"),
            asyncio.create_task(self._watch(), name="sophia-runs-watchdog"),
        ]
        log.info("run worker %s started", self.executor_id)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        DBOS.destroy(workflow_completion_timeout_sec=0)
        # DBOS made its (now shut down) pool this loop's default executor; give the loop a fresh one.
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(thread_name_prefix="sophia"))
        install_runtime(None)
        async with self.runtime.database.transaction() as session:
            await session.execute(sa.delete(RunWorkerRow).where(RunWorkerRow.executor_id == self.executor_id))

    async def serve(self, stop: asyncio.Event) -> None:
        await self.start()
        try:
            await stop.wait()
        finally:
            await self.stop()

    async def _heartbeat(self) -> None:
        """Beats on its own schedule: a slow recovery pass (listing every pending run) must not make this
        worker look dead to the others."""
        while True:
            await asyncio.sleep(self.settings.heartbeat_seconds)
            try:
                await self._beat()
            except Exception:  # the heartbeat must outlive a database hiccup; it retries next beat
                log.exception("run heartbeat failed")

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.settings.heartbeat_seconds)
            try:
                await self.recover_dead_workers()
            except Exception:  # the watchdog must outlive a database hiccup; it retries next beat
                log.exception("run watchdog pass failed")

    async def _beat(self) -> None:
        now = utcnow()
        async with self.runtime.database.transaction() as session:
            row = await session.get(RunWorkerRow, self.executor_id)
            if row is None:
                host = socket.gethostname()[:255]
                session.add(
                    RunWorkerRow(
                        executor_id=self.executor_id,
                        host=host,
                        pid=os.getpid(),
                        started_at=now,
                        heartbeat_at=now,
                    )
                )
            else:
                row.heartbeat_at = now

    async def recover_dead_workers(self) -> list[str]:
        """Re-enqueue the pending runs of executors with a stale or missing heartbeat; returns their ids."""
        cutoff = utcnow() - timedelta(seconds=self.settings.stale_seconds)
        async with self.runtime.database.session() as session:
            live = set(
                await session.scalars(
                    sa.select(RunWorkerRow.executor_id).where(RunWorkerRow.heartbeat_at >= cutoff)
                )
            )
        pending = await DBOS.list_workflows_async(
            status="PENDING", app_version=APP_VERSION, load_input=False, load_output=False
        )
        dead = sorted(
            {w.executor_id for w in pending if w.executor_id and w.executor_id not in live}
            - {self.executor_id}
        )
        for executor_id in dead:
            await asyncio.to_thread(DBOS._recover_pending_workflows, [executor_id])
            async with self.runtime.database.transaction() as session:
                await session.execute(sa.delete(RunWorkerRow).where(RunWorkerRow.executor_id == executor_id))
            log.warning("recovered the pending runs of dead worker %s", executor_id)
        self.recovered.extend(dead)
        return dead
