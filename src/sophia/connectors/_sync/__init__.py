"""Syncs: a connector's records pulled incrementally into memory and the business model (see `_protocol`)."""

from sophia.connectors._sync._engine import (
    NotSyncable,
    StreamResult,
    SyncEngine,
    SyncReport,
    UnknownStream,
    namespace_of,
)
from sophia.connectors._sync._protocol import Syncable, SyncPage, SyncRecord
from sophia.connectors._sync._run import run_sync, sync_overview, syncable_names
from sophia.connectors._sync._schedule import SyncSchedule, TickingSchedule
from sophia.connectors._sync._status import StreamStatus, SyncStatus
from sophia.connectors._sync._tables import SyncClockRow, SyncRecordRow, SyncStreamRow

__all__ = [
    "NotSyncable",
    "StreamResult",
    "StreamStatus",
    "SyncClockRow",
    "SyncEngine",
    "SyncPage",
    "SyncRecord",
    "SyncRecordRow",
    "SyncReport",
    "SyncSchedule",
    "TickingSchedule",
    "SyncStatus",
    "SyncStreamRow",
    "Syncable",
    "UnknownStream",
    "namespace_of",
    "run_sync",
    "sync_overview",
    "syncable_names",
]
