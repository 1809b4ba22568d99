"""A pytest run that a native crash ends still gets a summary line.

As a plugin (`-p tests.crash_report`) it appends each test's start and outcome to the file named by
SOPHIA_TEST_PROGRESS; as a program (`python -m tests.crash_report FILE STATUS`) it reads that file after pytest died
and prints what ran, what passed and which test was running when the process went down.
"""

from __future__ import annotations

import collections
import os
import signal
import sys
from pathlib import Path
from typing import IO

import pytest

_progress: IO[str] | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _progress
    path = os.environ.get("SOPHIA_TEST_PROGRESS")
    if path:
        _progress = open(path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 - open for the whole session


def pytest_unconfigure(config: pytest.Config) -> None:
    if _progress is not None:
        _progress.close()


def pytest_runtest_logstart(nodeid: str, location: tuple[str, int | None, str]) -> None:
    if _progress is not None:
        _progress.write(f"start {nodeid}\n")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if _progress is None:
        return
    if report.when == "call" or (report.outcome != "passed" and report.when in ("setup", "teardown")):
        outcome = "error" if report.when != "call" and report.outcome == "failed" else report.outcome
        _progress.write(f"{outcome} {report.nodeid}\n")


def summary(lines: list[str], status: int) -> str:
    counts: collections.Counter[str] = collections.Counter()
    running: str | None = None
    for line in lines:
        word, _, nodeid = line.partition(" ")
        if word == "start":
            running = nodeid
        else:
            counts[word] += 1
            running = None if nodeid == running else running
    how = (
        f"killed by {signal.Signals(status - 128).name}"
        if 128 < status < 128 + 65
        else f"exit status {status}"
    )
    done = (
        ", ".join(f"{counts[k]} {k}" for k in ("passed", "failed", "error", "skipped") if counts[k])
        or "no test"
    )
    where = f" while running {running}" if running else ""
    return f"==== pytest crashed ({how}){where}; before that: {done} ===="


def main() -> None:
    path, status = Path(sys.argv[1]), int(sys.argv[2])
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    print(f"\n{summary(lines, status)}")


if __name__ == "__main__":
    main()
