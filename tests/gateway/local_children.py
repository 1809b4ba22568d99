"""Find the local model's child process of a given parent, for the crash tests."""

from __future__ import annotations

import time
from pathlib import Path


def _children(parent: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == parent and b"_local_worker.py" in cmdline:
            found.append(int(stat.parent.name))
    return found


def local_worker_pid(parent: int, timeout: float = 60.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        children = _children(parent)
        if children:
            return children[0]
        time.sleep(0.05)
    raise AssertionError(f"no local model process under pid {parent} within {timeout:.0f} s")


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def wait_until_generating(pid: int, baseline: int, timeout: float = 60.0) -> None:
    """Returns once the process has used a fifth of a CPU second more than `baseline`: it is decoding."""
    deadline = time.monotonic() + timeout
    while cpu_ticks(pid) < baseline + 20:
        if time.monotonic() > deadline:
            raise AssertionError("the local model never started generating")
        time.sleep(0.02)
