"""Where the durable-run machinery keeps its state, and the worker's timing; defaults need no config."""

from __future__ import annotations

import base64
import binascii
import os
import secrets
import socket
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy.engine import make_url

from sophia.config import Settings
from sophia.errors import ConfigError
from sophia.secrets import SecretResolver
from sophia.store import private_sqlite_file, resolve_database_url

__all__ = [
    "APP_VERSION",
    "PLUGGED_KINDS",
    "QUEUE",
    "WORKFLOW",
    "RunSettings",
    "load_sealing_key",
    "system_database_url",
]

APP_VERSION = "sophia-runs-1"
"""Pinned so every worker of one install recovers and dequeues every other worker's runs."""
QUEUE = "sophia-runs"
WORKFLOW = "sophia.run"
PLUGGED_KINDS = ("code", "research", "bi")
"""Run kinds whose executor a shell plugs into the worker (`RunRuntime.kinds`): `code` is the coding
orchestrator, `research` a research question (`ResearchRun`), `bi` a business question (`sophia.bi.BiRun`)."""
_KEY_FILE = "runs-seal.key"


@dataclass(frozen=True, slots=True)
class RunSettings:
    """Worker timing. A worker whose heartbeat is older than `stale_seconds` is presumed dead."""

    concurrency: int = 4
    heartbeat_seconds: float = 5.0
    stale_seconds: float = 30.0
    approval_poll_seconds: float = 30.0
    queue_poll_seconds: float = 1.0

    def __post_init__(self) -> None:
        if self.stale_seconds <= 2 * self.heartbeat_seconds:
            raise ConfigError("runs: stale_seconds must exceed two heartbeats, or live workers look dead")

    @classmethod
    def of(cls, settings: Settings, *, concurrency: int | None = None) -> RunSettings:
        """The timing `[runs]` asks for; `concurrency` from the command line, or the default."""
        runs = settings.runs
        found = cls(heartbeat_seconds=runs.heartbeat_seconds, stale_seconds=runs.stale_seconds)
        return found if concurrency is None else replace(found, concurrency=concurrency)


def system_database_url(settings: Settings) -> str:
    """DBOS's system database: the same PostgreSQL database (schema `dbos`), or a SQLite file beside Sophia's."""
    url = make_url(resolve_database_url(settings))
    if url.get_backend_name() == "postgresql":
        return url.set(drivername="postgresql").render_as_string(hide_password=False)
    home = Path(settings.home).expanduser().resolve()
    private_sqlite_file(home / "dbos.sqlite")
    return f"sqlite:///{home / 'dbos.sqlite'}"


def default_executor_id() -> str:
    return f"{socket.gethostname()[:60]}-{os.getpid()}-{secrets.token_hex(3)}"


def load_sealing_key(settings: Settings) -> bytes:
    """The 32-byte key that seals pending tool arguments: `[runs] seal_key`, or one 0600 file under SOPHIA_HOME.

    Every worker and server of one install must use the same key, or an approved call cannot be opened: on one
    node the home's file is enough; replicas and workers with homes of their own need the shared `seal_key`.
    """
    if settings.runs.seal_key is not None:
        value = SecretResolver.for_settings(settings).resolve(settings.runs.seal_key)
        return _decode_key(value.strip())
    return _home_key(Path(settings.home))


def _decode_key(text: str) -> bytes:
    try:
        key = bytes.fromhex(text) if len(text) == 64 else base64.b64decode(text, validate=True)
    except (ValueError, binascii.Error):
        key = b""
    if len(key) != 32:
        raise ConfigError(
            "runs.seal_key must hold 32 bytes as 64 hex characters or base64 (openssl rand -hex 32)"
        )
    return key


def _home_key(home: Path) -> bytes:
    path = Path(home).expanduser() / _KEY_FILE
    if path.exists():
        key = bytes.fromhex(path.read_text().strip())
        if len(key) != 32:
            raise ConfigError(f"{path} does not hold a 32-byte key; delete it to create a new one")
        return key
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(key.hex())
    return key
