"""How many runs are in each status: the queue depth a worker autoscaler scales on (`sophia_runs` on /metrics)."""

from __future__ import annotations

import sqlalchemy as sa

from sophia.runs._tables import RUN_STATUSES, RunRow
from sophia.store import Database

__all__ = ["count_runs_by_status"]


async def count_runs_by_status(database: Database) -> dict[str, int]:
    """Every status of `RUN_STATUSES` with its count (0 when none), from one grouped query on the indexed column."""
    query = sa.select(RunRow.status, sa.func.count()).group_by(RunRow.status)
    async with database.session() as session:
        found = {status: int(count) for status, count in (await session.execute(query)).all()}
    return {status: found.get(status, 0) for status in RUN_STATUSES}
