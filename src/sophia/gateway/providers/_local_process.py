"""The supervised child process that runs the local model: start, route answers, notice death, never hang.

The process speaks the JSON-lines protocol of `_local_worker.py`. A reader thread hands each answer to the request
that asked for it (on that request's own event loop), so one process serves callers on any loop or thread. When the
process dies, every waiting request gets `LocalModelDied` at once.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import json
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

JSONDict = dict[str, Any]
WORKER = Path(__file__).with_name("_local_worker.py")
_log = logging.getLogger("sophia.gateway.local")


class LocalModelDied(Exception):
    """The child process ended while a request waited; `reason` names the signal or exit code."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class LocalModelFailed(Exception):
    """The child answered a request with an error; `kind` is "bad_request" or "internal"."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True, slots=True)
class End:
    """The last message of a generation: token counts as the model's own tokenizer saw them."""

    usage: JSONDict


def exit_reason(returncode: int | None) -> str:
    if returncode is None:
        return "it stopped answering"
    if returncode < 0:
        try:
            return f"it was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"it was killed by signal {-returncode}"
    return f"it exited with status {returncode}"


class LocalModelProcess:
    """One running `_local_worker.py`. Create it with `start()`, which returns once the model is loaded."""

    def __init__(self, argv: list[str], on_death: Callable[[str], None]) -> None:
        self._argv = argv
        self._on_death = on_death
        self._ids = itertools.count(1)
        self._pending: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Queue[Any]]] = {}
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._fatal: str | None = None
        self._stderr_tail: collections.deque[str] = collections.deque(maxlen=20)
        self.load_seconds = 0.0
        self.dead = False
        self._closing = False
        self._process: subprocess.Popen[bytes] | None = None
        self._readers: list[threading.Thread] = []

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self, load_timeout: float) -> None:
        """Blocking: spawn, then wait for the model to load. Raises LocalModelDied or LocalModelFailed."""
        self._process = subprocess.Popen(
            self._argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=child_environment(),
            start_new_session=True,  # a Ctrl-C in the terminal reaches the server, which then closes the child
        )
        self._readers = [
            threading.Thread(target=self._read_answers, name="local-model-answers", daemon=True),
            threading.Thread(target=self._read_log, name="local-model-log", daemon=True),
        ]
        for reader in self._readers:
            reader.start()
        if not self._ready.wait(load_timeout):
            self.kill()
            raise LocalModelDied(f"it did not load the model within {load_timeout:.0f} s")
        if self._fatal is not None:
            raise LocalModelFailed("internal", self._fatal)
        if self.dead:
            raise LocalModelDied(self._death_reason())

    async def chat(self, args: JSONDict, *, guard: bool) -> AsyncIterator[JSONDict | End]:
        """The generation's chunks, then one `End`. Leaving early cancels the generation in the child."""
        rid = next(self._ids)
        answers: asyncio.Queue[Any] = asyncio.Queue()
        with self._lock:
            if self.dead:
                raise LocalModelDied(self._death_reason())
            self._pending[rid] = (asyncio.get_running_loop(), answers)
        finished = False
        try:
            self._send({"id": rid, "op": "chat", "args": args, "guard": guard})
            while True:
                message = await answers.get()
                if isinstance(message, LocalModelDied):
                    raise message
                if "chunk" in message:
                    yield message["chunk"]
                elif "end" in message:
                    finished = True
                    yield End(message["end"].get("usage") or {})
                    return
                elif "error" in message:
                    finished = True
                    error = message["error"]
                    raise LocalModelFailed(str(error.get("kind")), str(error.get("message")))
        finally:
            with self._lock:
                self._pending.pop(rid, None)
            if not finished and not self.dead:
                self._send({"id": rid, "op": "cancel"})

    def close(self, timeout: float = 5.0) -> None:
        """Blocking: end of input asks the child to exit; it is killed if it has not after `timeout` seconds."""
        process = self._process
        self._closing = True
        if process is None:
            return
        try:
            if process.stdin:
                process.stdin.close()
            process.wait(timeout)
        except (OSError, subprocess.TimeoutExpired):
            self.kill()
        for reader in self._readers:
            reader.join(timeout)

    def kill(self) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()
        if process is not None and process.stdin:
            process.stdin.close()

    def _send(self, message: JSONDict) -> None:
        process = self._process
        assert process is not None and process.stdin is not None
        line = json.dumps(message, separators=(",", ":")).encode() + b"\n"
        try:
            with self._lock:
                process.stdin.write(line)
                process.stdin.flush()
        except (BrokenPipeError, ValueError, OSError):
            pass  # the reader thread notices the death and answers every waiting request

    def _read_answers(self) -> None:
        process = self._process
        assert process is not None and process.stdout is not None
        for line in process.stdout:
            try:
                message = json.loads(line)
            except ValueError:
                _log.warning("local model process wrote a line that is not JSON: %.200r", line)
                continue
            self._route(message)
        process.stdout.close()
        process.wait()
        with self._lock:
            if process.stdin:
                process.stdin.close()
        self._die()

    def _route(self, message: JSONDict) -> None:
        if "ready" in message:
            self.load_seconds = float(message.get("load_seconds") or 0.0)
            self._ready.set()
            return
        if "fatal" in message:
            self._fatal = str(message["fatal"])
            self._ready.set()
            return
        with self._lock:
            waiting = self._pending.get(message.get("id", -1))
        if waiting is not None:
            loop, answers = waiting
            _deliver(loop, answers, message)

    def _die(self) -> None:
        with self._lock:
            self.dead = True
            waiting = list(self._pending.values())
        reason = self._death_reason()
        if self._fatal is None and not self._closing:
            self._on_death(reason)  # before anyone hears of the death, so a retry sees the crash counted
        for loop, answers in waiting:
            _deliver(loop, answers, LocalModelDied(reason))
        self._ready.set()

    def _death_reason(self) -> str:
        reason = exit_reason(self._process.returncode if self._process else None)
        tail = " | ".join(line for line in self._stderr_tail if line)[-300:]
        return f"{reason}; last output: {tail}" if tail else reason

    def _read_log(self) -> None:
        process = self._process
        assert process is not None and process.stderr is not None
        for raw in process.stderr:
            line = raw.decode(errors="replace").rstrip()
            self._stderr_tail.append(line)
            _log.debug("local model: %s", line)
        process.stderr.close()


def _deliver(loop: asyncio.AbstractEventLoop, answers: asyncio.Queue[Any], message: Any) -> None:
    try:
        loop.call_soon_threadsafe(answers.put_nowait, message)
    except RuntimeError:
        pass  # that request's loop has closed; nobody waits any more


def worker_argv(model_path: Path, n_ctx: int, n_threads: int | None) -> list[str]:
    argv = [sys.executable, "-u", str(WORKER), "--model", str(model_path), "--n-ctx", str(n_ctx)]
    if n_threads:
        argv += ["--threads", str(n_threads)]
    return argv


def child_environment() -> dict[str, str]:
    """The server's environment minus what the child must not hold: API keys and Sophia's own secrets."""
    secretive = ("KEY", "TOKEN", "SECRET", "PASSWORD")
    return {k: v for k, v in os.environ.items() if not any(word in k.upper() for word in secretive)}
