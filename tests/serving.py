"""Start a real `sophia serve` process for a test, and run `sophia` commands against the same home."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serve_app(app: Any) -> Iterator[str]:
    """Serve an ASGI app (a stand-in service) with uvicorn in a thread on 127.0.0.1; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the stand-in service did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPHIA_")}
    env.update(SOPHIA_HOME=str(home), NO_PROXY="*", no_proxy="*", **extra)
    return env


def sophia(
    env: dict[str, str], *args: str, check: bool = True, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "sophia", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        input=stdin,
    )
    if check:
        assert result.returncode == 0, f"sophia {' '.join(args)} failed: {result.stderr}"
    return result


@contextmanager
def sophia_process(env: dict[str, str], log_path: Path, *args: str) -> Iterator[subprocess.Popen[bytes]]:
    """`sophia ARGS` running in the background (output in `log_path`), killed on the way out if still running."""
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "sophia", *args], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            yield process
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


def create_key(env: dict[str, str], user: str, role: str = "admin", *extra: str) -> str:
    if sophia(env, "users", "list").stdout.find(user) < 0:
        sophia(env, "users", "create", user, "--role", role)
    output = sophia(env, "keys", "create", "--user", user, *extra).stdout
    return next(word for word in output.split() if word.startswith("sph_"))


@dataclass
class Server:
    url: str
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] = field(repr=False)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextmanager
def running_sophia(
    env: dict[str, str], home: Path, *args: str, serve_args: tuple[str, ...] = ()
) -> Iterator[Server]:
    port = free_port()
    log_path = home / f"serve-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "sophia", *args, "serve", "--port", str(port), *serve_args],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        server = Server(f"http://127.0.0.1:{port}", env, log_path, process)
        try:
            _wait_ready(server)
            yield server
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# A budget for start-up, not a performance check: on a loaded 2-core machine `sophia serve` has taken 65 s.
START_BUDGET_SECONDS = 240


def _wait_ready(server: Server) -> None:
    deadline = time.monotonic() + START_BUDGET_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"sophia serve exited with {server.process.returncode}: {server.log()[-2000:]}"
            )
        try:
            if httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"sophia serve did not start within {START_BUDGET_SECONDS} s: {server.log()[-2000:]}")
