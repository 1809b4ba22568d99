"""`write_versions`: versions written inside the caller's transaction, rolled back with it, superseding as_of-safe."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sophia.memory import HashingEmbedder, MemoryService, Version
from sophia.store import Database

NS = "connector:crm"


async def test_versions_commit_with_the_callers_transaction_and_supersede(database: Database) -> None:
    service = await MemoryService.open(database, HashingEmbedder(dimensions=64))
    try:
        async with database.engine.begin() as conn:
            first = await service.write_versions(conn, [Version("Acme renewal is on track", NS)])
        await service.publish(first)
        before = datetime.now(UTC)
        async with database.engine.begin() as conn:
            second = await service.write_versions(
                conn, [Version("Acme renewal is at risk", NS, supersedes=first.ids[0])]
            )
        await service.publish(second)
        assert second.closed == first.ids
        now = await service.recall("Acme renewal", namespaces=NS, k=5)
        assert [h.memory.content for h in now] == ["Acme renewal is at risk"]
        then = await service.recall("Acme renewal", namespaces=NS, k=5, as_of=before)
        assert [h.memory.content for h in then] == ["Acme renewal is on track"]

        with pytest.raises(RuntimeError):
            async with database.engine.begin() as conn:
                await service.write_versions(conn, [Version("never committed", NS)], close=second.ids)
                raise RuntimeError("the page failed")
        assert await service.count() == 2
        assert (await service.get(second.ids[0], namespaces=NS)).valid_until is None
    finally:
        await service.close()
