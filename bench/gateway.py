"""Gateway benchmark: Sophia's added latency and one-core throughput against direct calls and peer gateways.

    .venv/bin/python bench/gateway.py                  # full run (~8 minutes with both peers)
    .venv/bin/python bench/gateway.py --quick          # short run (~3-4 minutes with both peers)
    .venv/bin/python bench/gateway.py --peers none     # direct and Sophia only
    .venv/bin/python bench/gateway.py --install-peers  # create the peer venvs under /tmp/bench-peers first

The upstream is one nginx worker returning a fixed chat completion (never the bottleneck). Each gateway runs pinned
to CPU 0; nginx, wrk and this script share CPU 1. Latency is sequential over one keep-alive connection per target,
in interleaved rounds (direct, Sophia, peers in turn), reported as the median of round medians. Every figure is
printed with its ratio to direct and to Sophia measured in the same run. Peers live in throwaway venvs outside the
repository (never project dependencies) and are skipped, with the reason, when missing or failing to start.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent / "_upstream"
REPO = HERE.parent.parent
GATEWAY_CPU, LOAD_CPU = "0", "1"
CONCURRENCY = (1, 8, 32)
PEERS = {"tensorzero": "tensorzero==2026.6.0", "litellm": "litellm[proxy]==1.103.7"}
BODY = {"model": "fast", "messages": [{"role": "user", "content": "Say hello."}], "max_tokens": 16}
SOPHIA_TOML = """
[[providers]]
name = "up"
kind = "openai-compatible"
base_url = "{upstream}/v1"
api_key = "env:UP_KEY"

[[models]]
name = "fast"
provider = "up"
model = "gpt-4o-mini"
input_price = 0.15
output_price = 0.60

# The dashboard's per-key and per-user API limits stay on (their cost is part of every request) but high enough
# that the load never trips them: peers run without limits.
[web]
requests_per_minute_key = 100000000
requests_per_minute_user = 100000000
"""


CACHE_TOML = """
[cache]
enabled = true
store = "database"
ttl = "1h"
"""


class BenchSetupError(RuntimeError):
    """A target could not be prepared; the message says what to install or check."""


@dataclass
class Target:
    name: str
    port: int
    path: str
    body: bytes
    auth: str = ""
    pid: int | None = None  # the gateway process whose tree's RSS is reported
    p50: float = 0.0
    p99: float = 0.0
    added_p50: float = 0.0
    added_p99: float = 0.0
    rps: dict[int, float] = field(default_factory=dict)
    failures: dict[int, int] = field(default_factory=dict)
    cpu_us: dict[int, float] = field(default_factory=dict)  # gateway CPU time per request, by concurrency
    rss_mb: float = 0.0

    def request_bytes(self) -> bytes:
        head = (
            f"POST {self.path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nContent-Type: application/json\r\n"
        )
        if self.auth:
            head += f"Authorization: {self.auth}\r\n"
        return f"{head}Content-Length: {len(self.body)}\r\n\r\n".encode() + self.body


# -- processes ---------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Processes(contextlib.ExitStack):
    """Child processes, each in its own session so the whole tree is stopped by its own id at exit."""

    def spawn(self, argv: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        out = log.open("wb")
        process = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        self.callback(self._stop, process, out)
        return process

    @staticmethod
    def _stop(process: subprocess.Popen[bytes], out: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        out.close()  # type: ignore[attr-defined]


def wait_until(
    ready: Callable[[], bool], process: subprocess.Popen[bytes], what: str, log: Path, limit: float
) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-1500:]
            raise BenchSetupError(f"{what} exited with {process.returncode}; its log ends:\n{tail}")
        with contextlib.suppress(OSError, ValueError):
            if ready():
                return
        time.sleep(0.2)
    raise BenchSetupError(f"{what} did not become ready within {limit:.0f} s (log: {log})")


def require_tools() -> None:
    missing = [tool for tool in ("nginx", "wrk", "taskset") if shutil.which(tool, path=_sbin_path()) is None]
    if missing:
        raise SystemExit(
            f"missing tools: {', '.join(missing)}. This benchmark needs nginx (the upstream), wrk (throughput) and "
            "taskset (CPU pinning); on Debian/Ubuntu: sudo apt-get update && sudo apt-get install -y nginx wrk "
            "util-linux"
        )
    if len(os.sched_getaffinity(0)) < 2:
        raise SystemExit(
            "this benchmark needs 2 CPUs: one for the gateway, one for the load generator and upstream"
        )


def _sbin_path() -> str:
    return os.environ.get("PATH", "") + ":/usr/sbin:/sbin"


def start_nginx(procs: Processes, tmp: Path) -> Target:
    prefix = tmp / "nginx"
    prefix.mkdir()
    port = free_port()
    body = (HERE / "completion.json").read_text().strip()
    conf = (HERE / "nginx.conf").read_text().replace("@PREFIX@", str(prefix)).replace("@PORT@", str(port))
    (prefix / "nginx.conf").write_text(conf.replace("@BODY@", body))
    nginx = shutil.which("nginx", path=_sbin_path()) or "nginx"
    argv = ["taskset", "-c", LOAD_CPU, nginx, "-p", str(prefix), "-c", str(prefix / "nginx.conf")]
    process = procs.spawn([*argv, "-e", str(prefix / "error.log")], prefix / "stdout.log")
    target = Target(
        "direct", port, "/v1/chat/completions", json.dumps({**BODY, "model": "gpt-4o-mini"}).encode()
    )
    wait_until(lambda: probe(target) == 200, process, "nginx", prefix / "error.log", 10)
    target.pid = process.pid
    return target


def start_sophia(
    procs: Processes,
    tmp: Path,
    upstream: str,
    python: str,
    src: str | None,
    name: str = "sophia",
    extra_env: dict[str, str] | None = None,
    serve_args: tuple[str, ...] = (),
    toml_extra: str = "",
    launcher: tuple[str, ...] = ("-m", "sophia"),
) -> Target:
    """`sophia serve` pinned to the gateway CPU; `launcher` replaces `-m sophia` (e.g. a probing wrapper script)."""
    home = tmp / name
    home.mkdir()
    (home / "sophia.toml").write_text(SOPHIA_TOML.format(upstream=upstream) + toml_extra)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPHIA_")}
    env.update(SOPHIA_HOME=str(home), SOPHIA_CONFIG=str(home / "sophia.toml"), UP_KEY="sk-upstream-bench")
    env.update(SOPHIA_LOGGING__LEVEL="WARNING", NO_PROXY="*")
    if src:
        env["PYTHONPATH"] = src
    env.update(extra_env or {})
    for args in (["users", "create", "bench", "--role", "admin"], ["keys", "create", "--user", "bench"]):
        done = subprocess.run(
            [python, "-m", "sophia", *args], env=env, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise BenchSetupError(f"`sophia {' '.join(args)}` failed: {done.stderr.strip()[-800:]}")
    key = next(word for word in done.stdout.split() if word.startswith("sph_"))
    port = free_port()
    argv = ["taskset", "-c", GATEWAY_CPU, python, *launcher, "serve", "--port", str(port), *serve_args]
    process = procs.spawn(argv, home / "serve.log", env)
    target = Target(
        name, port, "/v1/chat/completions", json.dumps(BODY).encode(), f"Bearer {key}", process.pid
    )
    wait_until(lambda: probe(target) == 200, process, "sophia serve", home / "serve.log", 60)
    return target


def start_tensorzero(procs: Processes, tmp: Path, upstream: str, venv: Path) -> Target:
    conf = tmp / "tensorzero.toml"
    conf.write_text((HERE / "tensorzero.toml").read_text().replace("@UPSTREAM@", upstream))
    log = tmp / "tensorzero.log"
    argv = [
        "taskset",
        "-c",
        GATEWAY_CPU,
        str(venv / "bin/python"),
        str(HERE / "tensorzero_serve.py"),
        str(conf),
    ]
    process = procs.spawn(argv, log, {**os.environ, "UP_KEY": "sk-upstream-bench", "NO_PROXY": "*"})

    def announced() -> bool:
        return re.search(r"http://127\.0\.0\.1:(\d+)", log.read_text(errors="replace")) is not None

    wait_until(announced, process, "TensorZero", log, 60)
    match = re.search(r"http://127\.0\.0\.1:(\d+)", log.read_text(errors="replace"))
    assert match is not None
    body = json.dumps({**BODY, "model": "tensorzero::model_name::fast"}).encode()
    target = Target("tensorzero", int(match[1]), "/openai/v1/chat/completions", body, pid=process.pid)
    wait_until(lambda: probe(target) == 200, process, "TensorZero", log, 30)
    return target


def start_litellm(procs: Processes, tmp: Path, upstream: str, venv: Path) -> Target:
    master = "sk-bench-" + os.urandom(8).hex()
    conf = tmp / "litellm.yaml"
    conf.write_text(
        (HERE / "litellm.yaml").read_text().replace("@UPSTREAM@", upstream).replace("@MASTER_KEY@", master)
    )
    port, log = free_port(), tmp / "litellm.log"
    env = {
        **os.environ,
        "UP_KEY": "sk-upstream-bench",
        "NO_PROXY": "*",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    }
    env.update(LITELLM_LOG="ERROR", LITELLM_TELEMETRY="False", DISABLE_ADMIN_UI="True")
    argv = [str(venv / "bin/litellm"), "--config", str(conf), "--host", "127.0.0.1", "--port", str(port)]
    process = procs.spawn(["taskset", "-c", GATEWAY_CPU, *argv, "--num_workers", "1"], log, env)
    target = Target(
        "litellm", port, "/v1/chat/completions", json.dumps(BODY).encode(), f"Bearer {master}", process.pid
    )
    wait_until(lambda: probe(target) == 200, process, "LiteLLM proxy", log, 180)
    return target


def install_peer(name: str, venv: Path) -> None:
    """Create a throwaway venv for one peer, outside the repository, with the pinned version from the issue."""
    if (venv / "bin/python").exists():
        return
    print(f"installing {PEERS[name]} into {venv} ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin/pip"), "install", "-q", PEERS[name]], check=True)


# -- measurement -------------------------------------------------------------------------------------------------


class KeepAlive:
    """A minimal HTTP/1.1 client on one socket, so the client's own cost is tiny and the same for every target."""

    def __init__(self, target: Target) -> None:
        self.port = target.port
        self.request = target.request_bytes()
        self.sock = self._connect()

    def _connect(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def reconnect(self) -> None:
        """Servers close idle keep-alive connections (uvicorn after 5 s); reopen before a timed round."""
        self.sock.close()
        self.sock = self._connect()

    def fresh_call(self) -> int:
        """One untimed request that survives an idle close, so the timed ones that follow run on a warm socket."""
        try:
            return self.call()[0]
        except (ConnectionError, OSError):
            self.reconnect()
            return self.call()[0]

    def call(self) -> tuple[int, bytes]:
        self.sock.sendall(self.request)
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += self._recv()
        head, _, rest = buf.partition(b"\r\n\r\n")
        status = int(head[9:12])
        length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
        if length is not None:
            while len(rest) < int(length[1]):
                rest += self._recv()
            return status, rest
        while not rest.endswith(b"0\r\n\r\n"):  # chunked: read to the last chunk
            rest += self._recv()
        return status, rest

    def _recv(self) -> bytes:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("the server closed the keep-alive connection")
        return data

    def close(self) -> None:
        self.sock.close()


def probe(target: Target) -> int:
    client = KeepAlive(target)
    try:
        status, body = client.call()
    finally:
        client.close()
    if status == 200 and b'"choices"' not in body:
        raise BenchSetupError(f"{target.name} answered 200 without choices: {body[:200]!r}")
    return status


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@contextlib.contextmanager
def alone(target: Target, targets: list[Target]) -> Iterator[None]:
    """Only `target` (and the nginx upstream) runs while it is measured: the other gateways are paused (SIGSTOP to
    their process groups), because they share the pinned gateway CPU and an idle one is not idle. Measured
    (2026-12-07, 20 s idle after warm-up): `sophia serve` wakes 46 times a second and uses 18 ms of CPU a second
    (DBOS's run-queue and notification pollers, the run watchdog); `--only gateway` 14 times and 3 ms. Unpaused,
    that background work preempted whichever target was being timed, so a target's tail depended on which others
    ran beside it (the whole app looked better than the gateway alone because its neighbours were quieter)."""
    others = [t.pid for t in targets if t is not target and t.name != "direct" and t.pid]
    for pid in others:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in others:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGCONT)


def measure_latency(targets: list[Target], rounds: int, per_round: int, warmup: int) -> None:
    """Sequential keep-alive requests, targets interleaved per round; median of the round medians and p99s."""
    clients = {t.name: KeepAlive(t) for t in targets}
    try:
        for target in targets:
            with alone(target, targets):
                for _ in range(warmup):
                    clients[target.name].fresh_call()
        p50s: dict[str, list[float]] = {t.name: [] for t in targets}
        p99s: dict[str, list[float]] = {t.name: [] for t in targets}
        for _ in range(rounds):
            for target in targets:
                client, times = clients[target.name], []
                with alone(target, targets):
                    client.fresh_call()
                    for _ in range(per_round):
                        t0 = time.perf_counter_ns()
                        status, _ = client.call()
                        times.append((time.perf_counter_ns() - t0) / 1e6)
                        if status != 200:
                            raise BenchSetupError(
                                f"{target.name} answered {status} during the latency rounds"
                            )
                p50s[target.name].append(statistics.median(times))
                p99s[target.name].append(_quantile(times, 0.99))
    finally:
        for client in clients.values():
            client.close()
    direct50, direct99 = p50s[targets[0].name], p99s[targets[0].name]
    for target in targets:
        target.p50 = statistics.median(p50s[target.name])
        target.p99 = statistics.median(p99s[target.name])
        target.added_p50 = statistics.median(a - d for a, d in zip(p50s[target.name], direct50, strict=True))
        target.added_p99 = statistics.median(a - d for a, d in zip(p99s[target.name], direct99, strict=True))


def measure_throughput(target: Target, concurrency: int, seconds: int) -> None:
    """Requests/s from wrk, and the gateway's own CPU time per request (robust when other work shares the CPU)."""
    env = {**os.environ, "BENCH_BODY": target.body.decode(), "BENCH_AUTH": target.auth}
    url = f"http://127.0.0.1:{target.port}{target.path}"
    argv = ["taskset", "-c", LOAD_CPU, "wrk", "-t1", f"-c{concurrency}", f"-d{seconds}s", "--timeout", "10s"]
    cpu_before = cpu_seconds(target.pid) if target.pid else 0.0
    done = subprocess.run([*argv, "-s", str(HERE / "post.lua"), url], env=env, capture_output=True, text=True)
    cpu_used = (cpu_seconds(target.pid) if target.pid else 0.0) - cpu_before
    rps = re.search(r"Requests/sec:\s*([\d.]+)", done.stdout)
    count = re.search(r"(\d+) requests in", done.stdout)
    if done.returncode != 0 or rps is None or count is None:
        raise BenchSetupError(
            f"wrk failed against {target.name}: {done.stderr.strip() or done.stdout[-500:]}"
        )
    bad = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", done.stdout)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", done.stdout)
    failed = int(bad[1]) if bad else 0
    target.failures[concurrency] = failed + (sum(map(int, errors.groups())) if errors else 0)
    target.rps[concurrency] = float(rps[1])
    target.cpu_us[concurrency] = cpu_used * 1e6 / max(1, int(count[1]))


def process_tree(pid: int) -> list[int]:
    """A process and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, ()))
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process tree, every thread included."""
    ticks = 0
    for member in process_tree(pid):
        with contextlib.suppress(OSError):
            fields = (Path("/proc") / str(member) / "stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def rss_tree_mb(pid: int) -> float:
    """Resident memory of a process tree."""
    total_kb = 0
    for member in process_tree(pid):
        with contextlib.suppress(OSError):
            found = re.search(r"VmRSS:\s*(\d+)", (Path("/proc") / str(member) / "status").read_text())
            total_kb += int(found[1]) if found else 0
    return total_kb / 1024


# -- report ------------------------------------------------------------------------------------------------------


def _ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}x" if base > 0 else "-"


def _table(title: str, header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    print(f"\n{title}")
    for row in [header, ["-" * w for w in widths], *rows]:
        print(
            "  "
            + "  ".join(
                cell.rjust(w) if i else cell.ljust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            )
        )


def report(targets: list[Target], skipped: dict[str, str], loads: tuple[float, float]) -> None:
    direct, sophia = targets[0], targets[1]
    print(f"\nload average (1 min) before {loads[0]:.2f}, after {loads[1]:.2f} on {os.cpu_count()} CPUs")
    if max(loads) > 1.5:
        print(
            "  warning: other work shared the CPUs; wall-clock figures are depressed, CPU us/req holds up better"
        )
    _table(
        "Latency, sequential keep-alive (ms; median of round medians / round p99s; added = minus direct per round)",
        [
            "target",
            "p50",
            "/direct",
            "/sophia",
            "added p50",
            "/sophia",
            "p99",
            "/direct",
            "added p99",
            "/sophia",
        ],
        [
            [
                t.name,
                f"{t.p50:.3f}",
                _ratio(t.p50, direct.p50),
                _ratio(t.p50, sophia.p50),
                f"{t.added_p50:.3f}",
                _ratio(t.added_p50, sophia.added_p50),
                f"{t.p99:.3f}",
                _ratio(t.p99, direct.p99),
                f"{t.added_p99:.3f}",
                _ratio(t.added_p99, sophia.added_p99),
            ]
            for t in targets
        ],
    )
    header = ["target"]
    for c in CONCURRENCY:
        header += [f"req/s c={c}", "/direct", "/sophia"]
    rows = []
    for t in targets:
        row = [t.name]
        for c in CONCURRENCY:
            failed = f" ({t.failures[c]} failed)" if t.failures.get(c) else ""
            row += [
                f"{t.rps[c]:,.0f}{failed}",
                _ratio(t.rps[c], direct.rps[c]),
                _ratio(t.rps[c], sophia.rps[c]),
            ]
        rows.append(row)
    _table("Throughput, gateway on one core (wrk, 1 thread)", header, rows)
    header, rows = ["target"], []
    for c in CONCURRENCY:
        header += [f"CPU us/req c={c}", "/sophia"]
    for t in targets:
        row = [t.name]
        for c in CONCURRENCY:
            row += [f"{t.cpu_us[c]:,.0f}", _ratio(t.cpu_us[c], sophia.cpu_us[c])]
        rows.append(row + [f"{1e6 / max(t.cpu_us[32], 1.0):,.0f}"])
    header.append("1-core req/s if CPU-bound (c=32)")
    _table(
        "CPU per request (gateway process tree, all threads; holds up when the machine is busy)", header, rows
    )
    _table(
        "Memory after load (RSS of the process tree; direct = the nginx upstream)",
        ["target", "RSS MB", "/direct", "/sophia"],
        [
            [t.name, f"{t.rss_mb:.0f}", _ratio(t.rss_mb, direct.rss_mb), _ratio(t.rss_mb, sophia.rss_mb)]
            for t in targets
        ],
    )
    for name, reason in skipped.items():
        print(f"\nskipped {name}: {reason}")
    _verdict(targets)


def _verdict(targets: list[Target]) -> None:
    sophia = targets[1]
    peer = next((t for t in targets if t.name == "tensorzero"), None)
    best = max(sophia.rps.values())
    if peer is None:
        added, rps, source = (
            0.45,
            3300.0,
            "the issue's reference figures (TensorZero not measured in this run)",
        )
    else:
        added, rps, source = peer.added_p50, max(peer.rps.values()), "TensorZero measured in this run"
    print(f"\nTarget vs {source}:")
    ok50 = sophia.added_p50 <= added
    okrps = best >= rps
    print(
        f"  added p50: Sophia {sophia.added_p50:.3f} ms vs {added:.3f} ms -> {'met' if ok50 else 'NOT met'}"
    )
    print(
        f"  one-core req/s (best of c={CONCURRENCY}): Sophia {best:,.0f} vs {rps:,.0f} "
        f"-> {'met' if okrps else 'NOT met'}"
    )


# -- main --------------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer rounds and shorter wrk runs")
    parser.add_argument("--peers", default="tensorzero,litellm", help="comma list of peers, or 'none'")
    parser.add_argument(
        "--peers-dir", type=Path, default=Path("/tmp/bench-peers"), help="where the peer venvs live"
    )
    parser.add_argument(
        "--install-peers", action="store_true", help="create missing peer venvs with pip first"
    )
    parser.add_argument("--sophia-python", default=sys.executable, help="the Python that runs `sophia serve`")
    parser.add_argument("--sophia-src", help="PYTHONPATH for Sophia, to benchmark a copy of the source tree")
    parser.add_argument(
        "--variant-src", help="PYTHONPATH of a patched copy of Sophia, measured alongside as 'sophia-variant'"
    )
    parser.add_argument(
        "--variant-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an environment variable for sophia-variant only (repeatable), e.g. SOPHIA_SERVER__ENGINE=uvicorn",
    )
    parser.add_argument(
        "--no-gateway-only",
        action="store_true",
        help="skip the `sophia serve --only gateway` target (sophia-gw)",
    )
    parser.add_argument(
        "--cache",
        action="store_true",
        help="add sophia-cache: [cache] on, so every repeated request is a hit",
    )
    parser.add_argument("--rounds", type=int, help="latency rounds (default 15, quick 5)")
    parser.add_argument("--requests", type=int, help="sequential requests per target per round (default 500)")
    parser.add_argument("--seconds", type=int, help="wrk duration per concurrency (default 10, quick 3)")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    return parser.parse_args(argv)


def start_peers(
    procs: Processes, tmp: Path, upstream: str, args: argparse.Namespace
) -> tuple[list[Target], dict[str, str]]:
    starters = {"tensorzero": start_tensorzero, "litellm": start_litellm}
    names = [] if args.peers == "none" else [n.strip() for n in args.peers.split(",") if n.strip()]
    started: list[Target] = []
    skipped: dict[str, str] = {}
    for name in names:
        if name not in starters:
            raise SystemExit(f"unknown peer {name!r}; choose from {', '.join(starters)} or 'none'")
        venv = args.peers_dir / name
        try:
            if args.install_peers:
                install_peer(name, venv)
            if not (venv / "bin/python").exists():
                raise BenchSetupError(
                    f"not installed; run with --install-peers, or: python -m venv {venv} && "
                    f"{venv}/bin/pip install '{PEERS[name]}'"
                )
            print(f"starting {name} ...", flush=True)
            started.append(starters[name](procs, tmp, upstream, venv))
        except (BenchSetupError, subprocess.CalledProcessError) as error:
            skipped[name] = str(error)
    return started, skipped


def run(args: argparse.Namespace) -> tuple[list[Target], dict[str, str]]:
    rounds = args.rounds or (5 if args.quick else 15)
    per_round = args.requests or (200 if args.quick else 500)
    seconds = args.seconds or (3 if args.quick else 10)
    with tempfile.TemporaryDirectory(prefix="sophia-gateway-bench-") as tmpdir, Processes() as procs:
        tmp = Path(tmpdir)
        direct = start_nginx(procs, tmp)
        upstream = f"http://127.0.0.1:{direct.port}"
        print("starting sophia ...", flush=True)
        sophia = start_sophia(procs, tmp, upstream, args.sophia_python, args.sophia_src)
        variants = []
        if not args.no_gateway_only:
            print("starting sophia-gw (sophia serve --only gateway) ...", flush=True)
            variants.append(
                start_sophia(
                    procs,
                    tmp,
                    upstream,
                    args.sophia_python,
                    args.sophia_src,
                    "sophia-gw",
                    serve_args=("--only", "gateway"),
                )  # fmt: skip
            )
        if args.cache:
            print(
                "starting sophia-cache (the response cache on: every timed request is a hit) ...", flush=True
            )
            variants.append(
                start_sophia(
                    procs,
                    tmp,
                    upstream,
                    args.sophia_python,
                    args.sophia_src,
                    "sophia-cache",
                    toml_extra=CACHE_TOML,
                )  # fmt: skip
            )
        if args.variant_src or args.variant_env:
            print("starting sophia-variant ...", flush=True)
            extra = dict(item.partition("=")[::2] for item in args.variant_env)
            variants.append(
                start_sophia(
                    procs, tmp, upstream, args.sophia_python, args.variant_src, "sophia-variant", extra
                )
            )
        peers, skipped = start_peers(procs, tmp, upstream, args)
        targets = [direct, sophia, *variants, *peers]
        print(f"latency: {rounds} rounds x {per_round} requests x {len(targets)} targets ...", flush=True)
        measure_latency(targets, rounds, per_round, warmup=max(200, per_round))
        for concurrency in CONCURRENCY:
            for target in targets:
                print(f"throughput: {target.name} c={concurrency} for {seconds} s ...", flush=True)
                with alone(target, targets):
                    measure_throughput(target, concurrency, seconds)
        for target in targets:
            target.rss_mb = rss_tree_mb(target.pid) if target.pid else 0.0
    return targets, skipped


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    require_tools()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwind, so every child process is stopped
    os.sched_setaffinity(0, {int(LOAD_CPU)})
    load_before = os.getloadavg()[0]
    targets, skipped = run(args)
    report(targets, skipped, (load_before, os.getloadavg()[0]))
    if args.json:
        rows = [{k: v for k, v in vars(t).items() if k not in ("body", "auth", "pid")} for t in targets]
        args.json.write_text(json.dumps({"targets": rows, "skipped": skipped}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
