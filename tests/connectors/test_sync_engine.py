"""The sync engine on SQLite and PostgreSQL: pages commit with their cursor, replays write nothing twice, a change
supersedes (as_of sees the old text), deletions close the memory and soft-delete the business row."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from sophia.business import BusinessStore
from sophia.connectors import SyncEngine, SyncStatus, UnknownStream
from sophia.memory import HashingEmbedder, MemoryService
from sophia.memory._schema import memories
from sophia.store import Database
from tests.connectors.sync_source import T0, Ledger

NS = "connector:ledger"


@pytest.fixture
async def memory(database: Database) -> AsyncIterator[MemoryService]:
    service = await MemoryService.open(database, HashingEmbedder(dimensions=64))
    try:
        yield service
    finally:
        await service.close()


async def _rows(database: Database, *, current: bool = False) -> list[dict[str, object]]:
    query = sa.select(memories).where(memories.c.namespace == NS)
    if current:
        query = query.where(memories.c.valid_until.is_(None))
    async with database.engine.connect() as conn:
        return [dict(r) for r in (await conn.execute(query)).mappings()]


async def test_a_first_sync_writes_every_record_once_and_a_second_writes_nothing(
    database: Database, memory: MemoryService
) -> None:
    ledger, engine = Ledger(), SyncEngine(database, memory)
    report = await engine.run("ledger", ledger)
    assert report.ok and report.totals()["written"] == 25 and report.totals()["pages"] == 3
    rows = await _rows(database)
    assert len(rows) == 25
    assert rows[0]["metadata"]["stream"] == "items" and rows[0]["metadata"]["url"].startswith("https://")
    assert (await BusinessStore(database).counts(source="ledger"))["work_items"] == 25

    again = await engine.run("ledger", ledger)
    assert again.totals()["written"] == 0 and again.totals()["updated"] == 0
    assert ledger.since_seen[-1] == T0 + timedelta(minutes=24)  # incremental: since the newest record written
    assert len(await _rows(database)) == 25


async def test_full_rereads_everything_and_still_writes_no_duplicate(
    database: Database, memory: MemoryService
) -> None:
    ledger, engine = Ledger(), SyncEngine(database, memory)
    await engine.run("ledger", ledger)
    report = await engine.run("ledger", ledger, full=True)
    assert report.totals()["unchanged"] == 25 and report.totals()["written"] == 0
    assert ledger.since_seen[-1] is None
    assert len(await _rows(database)) == 25


async def test_a_changed_record_supersedes_and_as_of_still_finds_the_old_text(
    database: Database, memory: MemoryService
) -> None:
    ledger, engine = Ledger(), SyncEngine(database, memory)
    await engine.run("ledger", ledger)
    before = datetime.now(UTC)
    ledger.change("3", "ticket 3 about refunds escalated")
    report = await engine.run("ledger", ledger)
    assert report.totals()["updated"] == 1
    assert len(await _rows(database, current=True)) == 25 and len(await _rows(database)) == 26

    now = await memory.recall("refunds escalated", namespaces=[NS], k=1)
    assert now[0].memory.content == "ticket 3 about refunds escalated"
    assert now[0].memory.supersedes is not None
    old = await memory.recall("ticket 3 about invoices", namespaces=[NS], k=25, as_of=before)
    assert "ticket 3 about invoices" in [hit.memory.content for hit in old]
    assert "ticket 3 about refunds escalated" not in [hit.memory.content for hit in old]
    items = await BusinessStore(database).rows("work_items", source="ledger")
    assert {r["title"] for r in items if r["source_id"] == "3"} == {"ticket 3 about refunds escalated"}


async def test_records_gone_upstream_are_closed_in_memory_and_soft_deleted_in_business(
    database: Database, memory: MemoryService
) -> None:
    ledger, engine = Ledger(), SyncEngine(database, memory)
    await engine.run("ledger", ledger)
    ledger.delete("7")
    report = await engine.run("ledger", ledger)
    assert report.totals()["deleted"] == 1
    current = await _rows(database, current=True)
    assert len(current) == 24 and "7" not in {r["metadata"]["id"] for r in current}
    assert len(await _rows(database)) == 25  # forgotten as a version: the row stays for as_of
    store = BusinessStore(database)
    assert (await store.counts(source="ledger"))["work_items"] == 24
    deleted = [r for r in await store.rows("work_items", include_deleted=True) if r["deleted_at"] is not None]
    assert [r["source_id"] for r in deleted] == ["7"]
    (status,) = await SyncStatus(database).streams("ledger")
    assert status.deleted == 1


async def test_a_failure_mid_stream_keeps_committed_pages_and_the_rerun_resumes_from_the_cursor(
    database: Database, memory: MemoryService
) -> None:
    ledger, engine = Ledger(fail_after=2), SyncEngine(database, memory)
    report = await engine.run("ledger", ledger)
    assert not report.ok and "the ledger is down" in (report.streams[0].error or "")
    assert len(await _rows(database)) == 20
    (status,) = await SyncStatus(database).streams("ledger")
    assert status.in_progress and status.attempts == 1 and "ledger is down" in (status.last_error or "")

    ledger.fail_after = None
    again = await engine.run("ledger", ledger)
    assert again.ok and again.totals()["written"] == 5
    assert ledger.cursors_seen[-1] == "20"  # resumed from the committed cursor, not from the start
    assert len(await _rows(database)) == 25
    (status,) = await SyncStatus(database).streams("ledger")
    assert not status.in_progress and status.attempts == 0 and status.last_success_at is not None


async def test_an_unknown_stream_is_a_clear_error(database: Database, memory: MemoryService) -> None:
    with pytest.raises(UnknownStream, match="has no stream 'nope'; it has items"):
        await SyncEngine(database, memory).run("ledger", Ledger(), streams=["nope"])


async def test_the_schedule_claim_goes_to_one_process_per_period(database: Database) -> None:
    status = SyncStatus(database)
    assert await status.claim("ledger", 900)
    assert not await status.claim("ledger", 900)
    assert await status.claim("ledger", 0)
