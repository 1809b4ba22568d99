"""Stream plumbing for the gateway: the first content chunk, replays, counting and collecting what was delivered."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Iterable
from typing import Any

from sophia.gateway._errors import ProviderError
from sophia.gateway.providers import has_content

JSONDict = dict[str, Any]


def chars(chunk: JSONDict) -> int:
    total = 0
    for choice in chunk.get("choices") or ():
        delta = choice.get("delta") or {}
        content = delta.get("content")
        if isinstance(content, str):
            total += len(content)
        for call in delta.get("tool_calls") or ():
            total += len((call.get("function") or {}).get("arguments") or "")
    return total


async def replay(chunks: list[JSONDict]) -> AsyncGenerator[JSONDict, None]:
    for chunk in chunks:
        yield chunk


async def read_until_content(chunks: AsyncIterator[JSONDict]) -> list[JSONDict]:
    head: list[JSONDict] = []
    async for chunk in chunks:
        head.append(chunk)
        if has_content(chunk):
            return head
    return head


async def close(chunks: AsyncIterator[JSONDict]) -> None:
    aclose = getattr(chunks, "aclose", None)
    if aclose is not None:
        try:
            await aclose()
        except (ProviderError, RuntimeError):
            pass


def streamed_text(chunks: Iterable[JSONDict]) -> str:
    """The answer's text: the content deltas of the first choice, joined."""
    pieces: list[str] = []
    for chunk in chunks:
        for choice in chunk.get("choices") or ():
            content = (choice.get("delta") or {}).get("content")
            if isinstance(content, str) and not choice.get("index"):
                pieces.append(content)
    return "".join(pieces)


__all__ = ["chars", "close", "read_until_content", "replay", "streamed_text"]
