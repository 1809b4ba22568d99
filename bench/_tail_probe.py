"""`sophia serve` with probes for bench/gateway_tail.py: GC pauses, ledger flushes and event-loop stalls.

Each event is a CLOCK_MONOTONIC interval (shared by every process on the machine, so the client's request times
line up with it), appended as a JSON line `[kind, start, end]` to the file named by SOPHIA_TAIL_EVENTS.

    python bench/_tail_probe.py serve --port 8080
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import sys
import time
from typing import Any

_OUT = open(os.environ["SOPHIA_TAIL_EVENTS"], "a", buffering=1 << 16)  # noqa: SIM115 - lives as long as the process
_STALL_TICK = 0.001
_STALL_MIN = 0.002  # a tick that came this much late means a callback held the loop


def emit(kind: str, start: float, end: float) -> None:
    _OUT.write(json.dumps([kind, start, end]) + "\n")


_gc_started = [0.0]


def _on_gc(phase: str, info: dict[str, Any]) -> None:
    now = time.monotonic()
    if phase == "start":
        _gc_started[0] = now
    else:
        emit(f"gc{info['generation']}", _gc_started[0], now)


async def _ticker() -> None:
    """A late tick is a stall: `loop_busy` when the loop's thread ran on the CPU for most of it (our code held the
    loop), `loop_preempted` when it did not (the OS ran something else: other processes, or our other threads)."""
    while True:
        before, cpu_before = time.monotonic(), time.thread_time()
        await asyncio.sleep(_STALL_TICK)
        after, cpu_after = time.monotonic(), time.thread_time()
        late = after - before - _STALL_TICK
        if late > _STALL_MIN:
            busy = cpu_after - cpu_before >= 0.5 * (after - before)
            emit("loop_busy" if busy else "loop_preempted", before + _STALL_TICK, after)
        if int(after) != int(before):
            _OUT.flush()


def _install() -> None:
    from sophia.gateway import _ledger

    flush, start = _ledger.UsageLedger.flush, _ledger.UsageLedger.start

    async def timed_flush(self: Any, *, health: bool = True) -> int:
        began = time.monotonic()
        try:
            return await flush(self, health=health)
        finally:
            emit("ledger_flush", began, time.monotonic())

    def start_with_ticker(self: Any) -> None:
        start(self)
        asyncio.get_running_loop().create_task(_ticker(), name="tail-probe")

    _ledger.UsageLedger.flush = timed_flush  # type: ignore[method-assign]
    _ledger.UsageLedger.start = start_with_ticker  # type: ignore[method-assign]
    gc.callbacks.append(_on_gc)


if __name__ == "__main__":
    _install()
    from sophia.cli import main

    sys.argv = ["sophia", *sys.argv[1:]]
    main()
