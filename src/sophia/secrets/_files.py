"""Durable file primitives for the vault: atomic replace, private files and an inter-process lock."""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

from sophia.errors import SecretError

PRIVATE_MODE = 0o600


def fsync_dir(directory: Path) -> None:
    """Make a rename in `directory` durable; a no-op where directories cannot be opened (Windows)."""
    if sys.platform == "win32":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_durably(source: Path, target: Path) -> None:
    """Rename `source` over `target` and make the rename survive a power cut."""
    os.replace(source, target)
    fsync_dir(target.parent)


def write_atomically(target: Path, data: bytes) -> None:
    """Write `data` to `target` so a reader sees the old or the new content, never a mix.

    The temporary file lives in the same directory (same filesystem) and is private from its first byte.
    """
    temp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_MODE)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        replace_durably(temp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise


def ensure_private_dir(directory: Path) -> None:
    """Create the home directory (owner-only) when it does not exist yet."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)


def check_private(path: Path) -> None:
    """Refuse a key file that other users can read or write: the key would no longer be a secret."""
    if sys.platform == "win32":
        return
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise SecretError(
            f"the key file {path} is accessible to other users (mode {mode:04o}); run `chmod 600 {path}`"
        )


@contextlib.contextmanager
def exclusive_lock(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive lock across processes so two writers never lose each other's update."""
    if sys.platform == "win32":
        yield
        return
    import fcntl

    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, PRIVATE_MODE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
