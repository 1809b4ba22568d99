"""Scale-out benchmark: gateway throughput with one and with two `sophia serve` replicas, in the same run.

    .venv/bin/python bench/scale.py                  # 10 s of wrk per setting
    .venv/bin/python bench/scale.py --seconds 5 --concurrency 16

Both settings are a real cluster: replicas on one PostgreSQL database (SOPHIA_TEST_POSTGRES_URL or the local server)
and one Redis (budgets, rate limits and breakers shared), in front of one nginx upstream returning a fixed completion.
Load is balanced on the client side: one wrk per replica, each with its share of the connections, and the figures
are their sum. Replica i is pinned to CPU i modulo the CPUs there are, so on a 2-core machine the second replica gets
the second core (which nginx and wrk share): read the ratio as what a second replica adds on this machine, not as a
cluster's ceiling. Printed: requests/s, failed requests and the replicas' CPU time per request, and the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.gateway import (  # noqa: E402 - the shared benchmark helpers
    BODY,
    HERE,
    SOPHIA_TOML,
    BenchSetupError,
    Processes,
    Target,
    cpu_seconds,
    free_port,
    probe,
    require_tools,
    start_nginx,
    wait_until,
)

POSTGRES = os.environ.get("SOPHIA_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("SOPHIA_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")


async def _admin(statement: str) -> None:
    import asyncpg

    connection = await asyncpg.connect("postgresql://" + POSTGRES.split("://", 1)[1])
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def _sophia(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "sophia", *args], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BenchSetupError(f"`sophia {' '.join(args)}` failed: {done.stderr.strip()[-800:]}")
    return done.stdout


def start_cluster(procs: Processes, tmp: Path, upstream: str, database: str, replicas: int) -> list[Target]:
    """`replicas` gateway-only servers on one database and one Redis, each pinned to its own CPU."""
    home = tmp / f"cluster-{replicas}"
    home.mkdir()
    prefix = f"sophia-bench:{uuid.uuid4().hex}:"
    toml = SOPHIA_TOML.format(upstream=upstream) + f'redis_url = "{REDIS}"\nredis_prefix = "{prefix}"\n'
    (home / "sophia.toml").write_text(toml)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPHIA_")}
    env.update(
        SOPHIA_HOME=str(home), SOPHIA_CONFIG=str(home / "sophia.toml"), SOPHIA_STORAGE__URL=database,
        SOPHIA_LOGGING__LEVEL="WARNING", UP_KEY="sk-upstream-bench", NO_PROXY="*",
    )  # fmt: skip
    _sophia(env, "db", "upgrade")
    user = f"bench-{replicas}"
    _sophia(env, "users", "create", user, "--role", "admin")
    key = next(w for w in _sophia(env, "keys", "create", "--user", user).split() if w.startswith("sph_"))
    cpus = os.cpu_count() or 1
    targets = []
    for number in range(replicas):
        port = free_port()
        log = home / f"serve-{number}.log"
        argv = [
            "taskset",
            "-c",
            str(number % cpus),
            sys.executable,
            "-m",
            "sophia",
            "serve",
            "--port",
            str(port),
        ]
        process = procs.spawn([*argv, "--only", "gateway"], log, env)
        body = json.dumps(BODY).encode()
        target = Target(f"replica-{number}", port, "/v1/chat/completions", body, f"Bearer {key}", process.pid)
        wait_until(_answers(target), process, "sophia serve", log, 180)
        targets.append(target)
    return targets


def _answers(target: Target) -> Callable[[], bool]:
    return lambda: probe(target) == 200


def load(targets: list[Target], concurrency: int, seconds: int) -> tuple[float, int, float]:
    """(requests/s, failed requests, replicas' CPU µs per request) with one wrk per replica at once."""
    share = max(1, concurrency // len(targets))
    cpu_before = sum(cpu_seconds(t.pid) for t in targets if t.pid)
    runs = []
    for target in targets:
        env = {**os.environ, "BENCH_BODY": target.body.decode(), "BENCH_AUTH": target.auth}
        url = f"http://127.0.0.1:{target.port}{target.path}"
        argv = [
            "wrk",
            "-t1",
            f"-c{share}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(HERE / "post.lua"),
            url,
        ]
        runs.append(
            subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        )
    outputs = [run.communicate() for run in runs]
    cpu_used = sum(cpu_seconds(t.pid) for t in targets if t.pid) - cpu_before
    total_rps, total_count, failed = 0.0, 0, 0
    for stdout, stderr in outputs:
        rps, count = re.search(r"Requests/sec:\s*([\d.]+)", stdout), re.search(r"(\d+) requests in", stdout)
        if rps is None or count is None:
            raise BenchSetupError(f"wrk failed: {stderr.strip() or stdout[-500:]}")
        total_rps += float(rps[1])
        total_count += int(count[1])
        bad = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", stdout)
        failed += int(bad[1]) if bad else 0
    return total_rps, failed, cpu_used * 1e6 / max(1, total_count)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=10, help="wrk duration per setting")
    parser.add_argument(
        "--concurrency", type=int, default=32, help="connections in total, split over replicas"
    )
    args = parser.parse_args(argv)
    require_tools()
    name = f"sophia_bench_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    database = "postgresql+asyncpg://" + POSTGRES.split("://", 1)[1].rpartition("/")[0] + f"/{name}"
    results: dict[int, tuple[float, int, float]] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="sophia-scale-") as tmp, Processes() as procs:
            upstream = start_nginx(procs, Path(tmp))
            for replicas in (1, 2):
                with Processes() as cluster:
                    targets = start_cluster(
                        cluster, Path(tmp), f"http://127.0.0.1:{upstream.port}", database, replicas
                    )
                    load(targets, args.concurrency, 2)  # warm-up
                    results[replicas] = load(targets, args.concurrency, args.seconds)
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    print(f"\nScale-out, {args.concurrency} connections, {args.seconds} s, PostgreSQL + Redis shared")
    print(f"{'replicas':>8} {'req/s':>10} {'failed':>7} {'CPU µs/req':>11} {'vs one':>7}")
    for replicas, (rps, failed, cpu_us) in results.items():
        print(f"{replicas:>8} {rps:>10,.0f} {failed:>7} {cpu_us:>11,.0f} {rps / results[1][0]:>6.2f}x")
    ratio = results[2][0] / results[1][0]
    print(f"scale: one={results[1][0]:.0f} two={results[2][0]:.0f} ratio={ratio:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
