"""Where Sophia's added p99 comes from: request times lined up with GC pauses, ledger flushes and loop stalls.

    .venv/bin/python bench/gateway_tail.py               # 20,000 sequential requests idle, then under wrk load
    .venv/bin/python bench/gateway_tail.py --requests 5000 --load-connections 32
    .venv/bin/python bench/gateway_tail.py --requests 8000 --compare   # full app, then --only gateway, same run

The gateway runs `sophia serve` through bench/_tail_probe.py, which records every GC pass (by generation), every
ledger flush and every event-loop stall as a time interval. A sequential client times each request on the same
monotonic clock. For each kind of event the report gives the share of all requests that overlapped one and the
share of the slowest 1% that did: their ratio (the lift) says how much that event explains the tail. Nothing is
tuned here; this is the evidence to tune by.
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import gateway as bench  # bench/gateway.py: its nginx upstream, Sophia launcher and keep-alive client

PROBE = Path(__file__).resolve().parent / "_tail_probe.py"


def _time_requests(target: bench.Target, count: int) -> list[tuple[float, float]]:
    client = bench.KeepAlive(target)
    try:
        for _ in range(300):
            client.fresh_call()
        spans = []
        for _ in range(count):
            start = time.monotonic()
            client.call()
            spans.append((start, time.monotonic()))
        return spans
    finally:
        client.close()


def _events(path: Path) -> dict[str, list[tuple[float, float]]]:
    found: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for line in path.read_text().splitlines():
        kind, start, end = json.loads(line)
        found[kind].append((start, end))
    return {kind: sorted(spans) for kind, spans in found.items()}


def _overlaps(
    spans: list[tuple[float, float]], starts: list[float], ends: list[float], request: tuple[float, float]
) -> bool:
    """Whether any event interval overlaps the request's interval (events sorted by start)."""
    i = bisect.bisect_left(starts, request[1])  # events starting before the request ends
    return any(ends[j] > request[0] for j in range(max(0, i - 50), i))


def _analyse(
    title: str, spans: list[tuple[float, float]], events: dict[str, list[tuple[float, float]]]
) -> None:
    latencies = [(end - start) * 1000 for start, end in spans]
    p99 = statistics.quantiles(latencies, n=100)[98]
    slow = [s for s, ms in zip(spans, latencies, strict=True) if ms >= p99]
    window = (spans[0][0], spans[-1][1])
    print(f"\n{title}: {len(spans):,} requests, p50 {statistics.median(latencies):.3f} ms, p99 {p99:.3f} ms")
    print(f"{'event':<14} {'count':>7} {'mean ms':>8} {'all req %':>10} {'p99+ req %':>11} {'lift':>6}")
    for kind in sorted(events):
        inside = [e for e in events[kind] if e[1] >= window[0] and e[0] <= window[1]]
        if not inside:
            continue
        starts, ends = [e[0] for e in inside], [e[1] for e in inside]
        share_all = sum(_overlaps(inside, starts, ends, s) for s in spans) / len(spans)
        share_slow = sum(_overlaps(inside, starts, ends, s) for s in slow) / len(slow)
        mean_ms = statistics.fmean((e[1] - e[0]) * 1000 for e in inside)
        lift = share_slow / share_all if share_all else float("inf")
        print(
            f"{kind:<14} {len(inside):>7} {mean_ms:>8.3f} {share_all:>10.1%} {share_slow:>11.1%} {lift:>6.1f}"
        )


def _probe(
    tmp: Path, upstream: str, name: str, serve_args: tuple[str, ...], requests: int, connections: int
) -> tuple[list[tuple[float, float]], list[tuple[float, float]], str, dict[str, list[tuple[float, float]]]]:
    """One probed `sophia serve`: sequential requests idle, then beside a wrk load; with the probe's events."""
    events_file = tmp / f"{name}-events.jsonl"
    with bench.Processes() as procs:
        sophia = bench.start_sophia(
            procs, tmp, upstream, sys.executable, None, name, serve_args=serve_args,
            extra_env={"SOPHIA_TAIL_EVENTS": str(events_file)}, launcher=(str(PROBE),),
        )  # fmt: skip
        idle = _time_requests(sophia, requests)
        url = f"http://127.0.0.1:{sophia.port}{sophia.path}"
        seconds = max(5, requests // 2000)
        env = {**os.environ, "BENCH_BODY": sophia.body.decode(), "BENCH_AUTH": sophia.auth}
        wrk = ["taskset", "-c", bench.LOAD_CPU, "wrk", "-t1", f"-c{connections}", f"-d{seconds + 2}s"]
        load = subprocess.Popen(
            [*wrk, "-s", str(bench.HERE / "post.lua"), url],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        )  # fmt: skip
        time.sleep(1)
        loaded = _time_requests(sophia, requests // 4)
        wrk_out, _ = load.communicate()
        rate = next(
            (line.strip() for line in wrk_out.splitlines() if "Requests/sec" in line), "wrk printed nothing"
        )
        time.sleep(2)  # the probe writes its buffer every second
    return idle, loaded, rate, _events(events_file)


def _p99(spans: list[tuple[float, float]]) -> float:
    return statistics.quantiles([(end - start) * 1000 for start, end in spans], n=100)[98]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument(
        "--load-connections", type=int, default=32, help="wrk connections for the loaded phase"
    )
    parser.add_argument("--only-gateway", action="store_true", help="probe `sophia serve --only gateway`")
    parser.add_argument(
        "--compare", action="store_true", help="the full app, then --only gateway, in one run; p99 ratios"
    )
    args = parser.parse_args(argv)
    bench.require_tools()
    os.sched_setaffinity(0, {int(bench.LOAD_CPU)})
    setups: list[tuple[str, tuple[str, ...]]] = [("sophia-probed", ())] if not args.only_gateway else []
    if args.only_gateway or args.compare:
        setups.append(("sophia-gw-probed", ("--only", "gateway")))
    results = {}
    with tempfile.TemporaryDirectory(prefix="sophia-tail-") as tmpdir, bench.Processes() as procs:
        tmp = Path(tmpdir)
        direct = bench.start_nginx(procs, tmp)
        upstream = f"http://127.0.0.1:{direct.port}"
        for name, serve_args in setups:
            results[name] = _probe(tmp, upstream, name, serve_args, args.requests, args.load_connections)
    for name, (idle, loaded, rate, events) in results.items():
        _analyse(f"{name} idle (sequential, one connection)", idle, events)
        _analyse(
            f"{name} under load (wrk c={args.load_connections} beside the timed connection; {rate})",
            loaded,
            events,
        )
    if len(results) == 2:
        (full_idle, full_loaded, *_), (gw_idle, gw_loaded, *_) = results.values()
        print(
            f"\np99 gateway-only / full app: idle {_p99(gw_idle) / _p99(full_idle):.2f},"
            f" under load {_p99(gw_loaded) / _p99(full_loaded):.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
