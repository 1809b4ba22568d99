"""An acknowledged `remember` survives `kill -9` of the process right after it returns; indexes agree on restart."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from sophia.memory import HashingEmbedder, MemoryService
from sophia.store import Database

_WRITER = """
import asyncio, sys, time
from pathlib import Path
from sophia.memory import HashingEmbedder, MemoryService
from sophia.store import Database

async def main() -> None:
    service = await MemoryService.open(
        Database(sys.argv[1]), HashingEmbedder(dimensions=128), index_path=Path(sys.argv[2])
    )
    for i in range(3):
        memory_id = await service.remember(f"acknowledged write number {i} before the crash", namespace="user:k")
        print(memory_id, flush=True)
    time.sleep(60)  # never closes: the parent kills us here, before any snapshot is written

asyncio.run(main())
"""


async def test_remember_acknowledged_before_kill_9_is_there_after_restart(
    migrated_database_url: str, database: Database, embedder: HashingEmbedder, index_path: Path
) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _WRITER, migrated_database_url, str(index_path), stdout=asyncio.subprocess.PIPE
    )
    assert process.stdout is not None
    acknowledged = [
        (await asyncio.wait_for(process.stdout.readline(), 60)).decode().strip() for _ in range(3)
    ]
    os.kill(process.pid, signal.SIGKILL)
    assert await process.wait() == -signal.SIGKILL

    restarted = await MemoryService.open(database, embedder, index_path=index_path)
    try:
        hits = await restarted.recall("acknowledged write before the crash", "user:k", k=5)
        assert {h.memory.id for h in hits} == set(acknowledged)
        assert all(h.reasons.keyword_rank is not None and h.reasons.vector_rank is not None for h in hits)
        stats = await restarted.stats()
        assert stats.memories == stats.vectors == stats.keyword_entries == 3
    finally:
        await restarted.close()
