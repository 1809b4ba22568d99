"""The local model's own process: llama.cpp behind a JSON-lines pipe, so a native crash never kills the server.

Run by path (`python _local_worker.py --model FILE`), it imports nothing of Sophia's, which keeps its start-up to the
import of llama_cpp. Requests arrive on stdin, one JSON object per line:
    {"id": 7, "op": "chat", "args": {...create_chat_completion arguments...}, "guard": true}
    {"id": 7, "op": "cancel"}
and every answer leaves on the protocol pipe (the original stdout; fd 1 itself is pointed at stderr so nothing that
native code prints can corrupt the protocol):
    {"ready": true, "load_seconds": 0.21}            once, after the model is loaded
    {"id": 7, "chunk": {...chat.completion.chunk...}}
    {"id": 7, "end": {"usage": {...}}}
    {"id": 7, "error": {"kind": "bad_request" | "internal", "message": "..."}}
    {"fatal": "..."}                                  the model could not be loaded; the process exits
Requests are served one at a time in arrival order. End of stdin (the server went away) ends the process at once.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import re
import sys
import threading
import time
from collections.abc import Iterator
from typing import IO, Any

JSONDict = dict[str, Any]

_SENTENCE_END = re.compile(r"[.!?\n]")
_MIN_SENTENCE_CHARS = 12


def _normalise(sentence: str) -> str:
    return " ".join(sentence.lower().split()).strip(" .!?")


class RepeatGuard:
    """Stops a generation that repeats a sentence it already wrote, without ever emitting the repetition.

    Text is passed through as it comes, except while the sentence being written could still turn into one already
    written: that part is held back until it either differs (then it is released) or completes the repeat (then it is
    dropped and `stopped` becomes true). Short sentences ("Yes.", list markers) never count as repeats, and neither do
    lines inside a ``` code block, where repeated lines are normal.
    """

    def __init__(self) -> None:
        self._seen: set[str] = set()
        self._seen_prefixes: set[str] = set()
        self._sentence = ""  # the sentence being written, emitted part and held part together
        self._held = 0  # how many trailing characters of `_sentence` are not emitted yet
        self._in_code = False
        self.stopped = False

    def feed(self, text: str) -> str:
        """Returns the text that may be emitted now."""
        out: list[str] = []
        for char in text:
            if self.stopped:
                break
            self._sentence += char
            self._held += 1
            if _SENTENCE_END.match(char):
                out.append(self._close_sentence())
            elif not self._could_repeat():
                out.append(self._release())
        return "".join(out)

    def flush(self) -> str:
        """The held text at the end of a generation (an unfinished sentence is never a repeat)."""
        return "" if self.stopped else self._release()

    def _could_repeat(self) -> bool:
        if self._in_code or "`" in self._sentence:
            return False
        key = _normalise(self._sentence)
        return (
            not key or key in self._seen_prefixes
        )  # whitespace alone is held until the sentence shows itself

    def _release(self) -> str:
        held = self._sentence[len(self._sentence) - self._held :] if self._held else ""
        self._held = 0
        return held

    def _close_sentence(self) -> str:
        fences = self._sentence.count("```")
        in_code, self._in_code = self._in_code, self._in_code ^ (fences % 2 == 1)
        key = "" if in_code or fences else _normalise(self._sentence)
        if len(key) >= _MIN_SENTENCE_CHARS and key in self._seen:
            self.stopped = True
            return ""
        if len(key) >= _MIN_SENTENCE_CHARS:
            self._seen.add(key)
            self._seen_prefixes.update(key[:n] for n in range(1, len(key) + 1))
        released = self._release()
        self._sentence = ""
        return released


class _Protocol:
    """Writes whole JSON lines to the protocol pipe from any thread."""

    def __init__(self, pipe: IO[bytes]) -> None:
        self._pipe = pipe
        self._lock = threading.Lock()

    def send(self, message: JSONDict) -> None:
        line = json.dumps(message, separators=(",", ":")).encode() + b"\n"
        with self._lock:
            self._pipe.write(line)
            self._pipe.flush()


class _Inbox:
    """Reads stdin on a thread: chat requests are queued, cancels are noted at once, end of input ends the process."""

    def __init__(self) -> None:
        self.requests: queue.Queue[JSONDict] = queue.Queue()
        self.cancelled: set[int] = set()
        threading.Thread(target=self._read, name="inbox", daemon=True).start()

    def _read(self) -> None:
        for line in sys.stdin.buffer:
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if message.get("op") == "cancel":
                self.cancelled.add(message.get("id"))
            else:
                self.requests.put(message)
        os._exit(0)  # the server closed the pipe or died: nothing is left to answer


class _Model:
    def __init__(self, path: str, n_ctx: int, n_threads: int | None) -> None:
        from llama_cpp import Llama

        self.llama: Any = Llama(model_path=path, n_ctx=n_ctx, n_threads=n_threads, verbose=False)
        self._formatter: Any = None

    def prompt_tokens(self, messages: list[JSONDict]) -> int:
        """Tokens of the prompt as the model's chat template renders it (llama.cpp streams carry no usage)."""
        llama = self.llama
        if self._formatter is None:
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            template = llama.metadata.get("tokenizer.chat_template")
            if not template:
                text = "\n".join(str(m.get("content") or "") for m in messages)
                return len(llama.tokenize(text.encode(), add_bos=False)) + 4 * len(messages)
            eos = llama.detokenize([llama.token_eos()]).decode(errors="ignore")
            self._formatter = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token="")
        prompt = self._formatter(messages=messages).prompt
        return len(llama.tokenize(prompt.encode(), add_bos=False, special=True))


def _content_of(chunk: JSONDict) -> str | None:
    for choice in chunk.get("choices") or ():
        text = (choice.get("delta") or {}).get("content")
        if isinstance(text, str):
            return text
    return None


def _with_content(chunk: JSONDict, text: str) -> JSONDict:
    choice = dict(chunk["choices"][0])
    choice["delta"] = {**(choice.get("delta") or {}), "content": text}
    return {**chunk, "choices": [choice]}


def _finish_chunk(chunk: JSONDict, reason: str | None) -> JSONDict:
    """The chunk with its finish reason set to `reason` (its delta kept only when the reason is None)."""
    choice = dict(chunk["choices"][0]) if chunk.get("choices") else {"index": 0, "delta": {}}
    choice["finish_reason"] = reason
    if reason is not None:
        choice["delta"] = {}
    return {**chunk, "choices": [choice]}


def _generate(model: _Model, args: JSONDict) -> Iterator[JSONDict]:
    try:
        chunks: Iterator[JSONDict] = model.llama.create_chat_completion(**args, stream=True)
        yield from chunks
    except ValueError as error:  # llama.cpp's way to say the prompt does not fit the context window
        raise _BadRequest(str(error)) from None


class _BadRequest(Exception):
    pass


def _serve_one(model: _Model, inbox: _Inbox, out: _Protocol, request: JSONDict) -> None:
    rid = request.get("id")
    args: JSONDict = request.get("args") or {}
    guard = RepeatGuard() if request.get("guard") else None
    completion_tokens = 0
    for chunk in _generate(model, args):
        if rid in inbox.cancelled:
            break
        text = _content_of(chunk)
        completion_tokens += 1 if text else 0
        if guard is not None:
            chunk, text = _guarded(guard, chunk, text, out, rid)
            if guard.stopped:
                if text:
                    out.send({"id": rid, "chunk": chunk})
                out.send({"id": rid, "chunk": _finish_chunk(chunk, "stop")})
                break
            if text == "":
                continue
        out.send({"id": rid, "chunk": chunk})
    prompt = model.prompt_tokens(args.get("messages") or [])
    total = prompt + completion_tokens
    usage = {"prompt_tokens": prompt, "completion_tokens": completion_tokens, "total_tokens": total}
    out.send({"id": rid, "end": {"usage": usage}})


def _guarded(
    guard: RepeatGuard, chunk: JSONDict, text: str | None, out: _Protocol, rid: Any
) -> tuple[JSONDict, str | None]:
    """The chunk as the guard lets it through; held text is sent ahead of a finishing chunk."""
    if text:
        released = guard.feed(text)
        return _with_content(chunk, released), released
    choices = chunk.get("choices") or ()
    if choices and choices[0].get("finish_reason"):
        held = guard.flush()
        if held:
            out.send({"id": rid, "chunk": _finish_chunk(_with_content(chunk, held), None)})
    return chunk, text


def _serve(model: _Model, out: _Protocol) -> None:
    inbox = _Inbox()
    while True:
        request = inbox.requests.get()
        rid = request.get("id")
        if rid in inbox.cancelled:
            inbox.cancelled.discard(rid)
            continue
        try:
            _serve_one(model, inbox, out, request)
        except _BadRequest as error:
            out.send({"id": rid, "error": {"kind": "bad_request", "message": str(error)}})
        except (
            Exception
        ) as error:  # answered as a provider failure; the process stays up for the next request
            out.send(
                {"id": rid, "error": {"kind": "internal", "message": f"{type(error).__name__}: {error}"}}
            )
        inbox.cancelled.discard(rid)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True)
    parser.add_argument("--n-ctx", type=int, default=4096)
    parser.add_argument("--threads", type=int, default=0)
    options = parser.parse_args(argv)
    protocol_pipe = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # whatever native code prints goes to stderr, never into the protocol
    sys.stdout = sys.stderr
    out = _Protocol(protocol_pipe)
    started = time.perf_counter()
    try:
        model = _Model(options.model, options.n_ctx, options.threads or None)
    except Exception as error:
        out.send({"fatal": f"the local model could not be loaded: {type(error).__name__}: {error}"})
        raise SystemExit(3) from None
    out.send({"ready": True, "load_seconds": round(time.perf_counter() - started, 4)})
    _serve(model, out)


if __name__ == "__main__":
    main()
