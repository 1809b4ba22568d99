"""Run a child process with a time limit (the whole process group is killed) and capped output."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ProcessOutcome", "run_process"]

_CHUNK = 65536


@dataclass(frozen=True, slots=True)
class ProcessOutcome:
    exit_code: int | None
    stdout: str
    stderr: str
    timed_out: bool
    truncated: bool


async def _drain(stream: asyncio.StreamReader | None, limit: int) -> tuple[bytes, bool]:
    """Keep the first `limit` bytes and discard the rest, so a chatty child never blocks on a full pipe."""
    if stream is None:
        return b"", False
    kept = bytearray()
    dropped = 0
    while chunk := await stream.read(_CHUNK):
        room = limit - len(kept)
        kept += chunk[:room] if room > 0 else b""
        dropped += max(0, len(chunk) - max(room, 0))
    return bytes(kept), dropped > 0


def _kill_group(process: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


async def run_process(
    argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], timeout: float, max_output_bytes: int
) -> ProcessOutcome:
    """Start `argv` in its own session; on timeout SIGKILL its process group and report what it printed."""
    process = await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        env=dict(env),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    readers = asyncio.gather(
        _drain(process.stdout, max_output_bytes), _drain(process.stderr, max_output_bytes)
    )
    timed_out = False
    try:
        await asyncio.wait_for(process.wait(), timeout)
    except TimeoutError:
        timed_out = True
    finally:
        _kill_group(process)  # also reaps helpers a finished command left running in the background
    try:
        (out, out_cut), (err, err_cut) = await asyncio.wait_for(readers, 5)
    except TimeoutError:
        readers.cancel()
        (out, out_cut), (err, err_cut) = (b"", True), (b"", True)
    await process.wait()
    marker = f"\n…[output cut at {max_output_bytes} bytes]"
    stdout = out.decode("utf-8", errors="replace") + (marker if out_cut else "")
    stderr = err.decode("utf-8", errors="replace") + (marker if err_cut else "")
    return ProcessOutcome(
        None if timed_out else process.returncode, stdout, stderr, timed_out, out_cut or err_cut
    )
