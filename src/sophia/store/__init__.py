"""The database: async engines for SQLite and PostgreSQL, the shared base, migrations, audit log; expiring
counters (in process or Redis) for rate limits."""

from sophia.store._audit import AuditEntry, AuditRow, list_audit, record_audit
from sophia.store._base import NAMING_CONVENTION, Base, JsonType, UtcDateTime, utcnow
from sophia.store._counters import CounterStore, MemoryCounters, RedisCounters, open_counters
from sophia.store._engine import (
    SQLITE_PRAGMAS,
    Database,
    create_engine,
    normalize_url,
    private_sqlite_file,
    storage_errors,
)
from sophia.store._migrate import (
    MIGRATIONS_DIR,
    current_revision,
    downgrade,
    head_revision,
    is_up_to_date,
    known_revisions,
    migration_state,
    upgrade,
)
from sophia.store._url import open_database, resolve_database_url

__all__ = [
    "MIGRATIONS_DIR",
    "NAMING_CONVENTION",
    "SQLITE_PRAGMAS",
    "AuditEntry",
    "AuditRow",
    "Base",
    "CounterStore",
    "Database",
    "JsonType",
    "MemoryCounters",
    "RedisCounters",
    "UtcDateTime",
    "create_engine",
    "current_revision",
    "downgrade",
    "head_revision",
    "is_up_to_date",
    "migration_state",
    "known_revisions",
    "list_audit",
    "normalize_url",
    "open_counters",
    "open_database",
    "private_sqlite_file",
    "record_audit",
    "resolve_database_url",
    "storage_errors",
    "upgrade",
    "utcnow",
]
