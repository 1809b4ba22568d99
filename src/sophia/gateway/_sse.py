"""Incremental Server-Sent Events parsing over byte streams, and encoding for Sophia's own streams."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson

_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """One dispatched event: `data` lines joined by newlines, `event` empty when the stream named none."""

    data: str
    event: str = ""
    id: str | None = None

    @property
    def is_done(self) -> bool:
        """OpenAI-style end marker `data: [DONE]`."""
        return self.data == "[DONE]"


class SSEDecoder:
    """Feed bytes in any split; get whole events back. Handles LF, CRLF, CR, comments and a leading BOM."""

    __slots__ = ("_buffer", "_data", "_event", "_id", "_pending", "_started")

    def __init__(self) -> None:
        self._buffer = b""
        self._pending: list[bytes] = []
        self._data: list[str] = []
        self._event = ""
        self._id: str | None = None
        self._started = False

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        if self._started and b"\n" not in chunk and b"\r" not in chunk:
            self._pending.append(chunk)  # a long line in many pieces is joined once, not once per piece
            return []
        if self._pending:
            self._buffer += b"".join(self._pending)
            self._pending.clear()
        buffer = self._buffer + chunk if self._buffer else chunk
        if not self._started:
            if len(buffer) < len(_BOM) and _BOM.startswith(buffer):
                self._buffer = buffer
                return []
            self._started = True
            if buffer.startswith(_BOM):
                buffer = buffer[len(_BOM) :]
        lines = buffer.splitlines(keepends=True)
        # An unterminated last line, or one ending in a lone CR (an LF may follow), waits for more bytes.
        if lines and (not lines[-1].endswith((b"\n", b"\r")) or lines[-1].endswith(b"\r")):
            self._buffer = lines.pop()
        else:
            self._buffer = b""
        events: list[SSEEvent] = []
        for raw in lines:
            event = self._line(raw.rstrip(b"\r\n").decode("utf-8", "replace"))
            if event is not None:
                events.append(event)
        return events

    def close(self) -> list[SSEEvent]:
        """End of stream: a complete pending line is processed and a pending event is still dispatched."""
        events: list[SSEEvent] = []
        if self._pending:
            self._buffer += b"".join(self._pending)
            self._pending.clear()
        if self._buffer.endswith(b"\r"):
            event = self._line(self._buffer[:-1].decode("utf-8", "replace"))
            if event is not None:
                events.append(event)
        self._buffer = b""
        event = self._line("")
        if event is not None:
            events.append(event)
        return events

    def _line(self, line: str) -> SSEEvent | None:
        if not line:
            if not self._data:
                self._event = ""
                return None
            event = SSEEvent("\n".join(self._data), self._event, self._id)
            self._data = []
            self._event = ""
            return event
        if line[0] == ":":
            return None
        name, sep, value = line.partition(":")
        if sep and value[:1] == " ":
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self._id = value
        return None


async def aiter_sse(chunks: AsyncIterable[bytes]) -> AsyncIterator[SSEEvent]:
    """Events from an async byte stream such as `httpx.Response.aiter_bytes()`."""
    decoder = SSEDecoder()
    async for chunk in chunks:
        for event in decoder.feed(chunk):
            yield event
    for event in decoder.close():
        yield event


def encode_sse(data: Any, event: str | None = None) -> bytes:
    """One SSE frame; `data` is JSON-encoded unless it is already a string (e.g. `[DONE]`)."""
    body = data.encode() if isinstance(data, str) else orjson.dumps(data)
    prefix = b"event: " + event.encode() + b"\n" if event else b""
    return prefix + b"data: " + body + b"\n\n"


__all__ = ["SSEDecoder", "SSEEvent", "aiter_sse", "encode_sse"]
