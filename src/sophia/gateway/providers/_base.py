"""The one interface the router calls: OpenAI-shaped dicts in, OpenAI-shaped dicts out."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from sophia.gateway._errors import ProviderError, ProviderTimeout, StreamInterrupted

JSONDict = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds. `first_token` counts from the request to the first content chunk, `total` the whole call."""

    connect: float = 10.0
    first_token: float = 60.0
    between_chunks: float = 30.0
    total: float = 600.0


@runtime_checkable
class ChatProvider(Protocol):
    """A model provider. Failures raise `ProviderError` subclasses; a stream's last chunk carries `usage`."""

    name: str

    async def complete(self, body: JSONDict, *, upstream_model: str) -> JSONDict: ...

    def stream(self, body: JSONDict, *, upstream_model: str) -> AsyncIterator[JSONDict]: ...

    async def embed(self, body: JSONDict, *, upstream_model: str) -> JSONDict: ...

    async def aclose(self) -> None: ...


def has_content(chunk: JSONDict) -> bool:
    """Does this chunk carry text, reasoning, a tool call or a finish reason (a role-only chunk does not)?

    Reasoning (`reasoning_content` from DeepSeek and xAI, `reasoning` from OpenRouter) is the first thing a
    reasoning model sends, so it ends the time to first token and commits the stream to that model.
    """
    for choice in chunk.get("choices") or ():
        delta = choice.get("delta") or {}
        if (
            delta.get("content")
            or delta.get("tool_calls")
            or choice.get("finish_reason")
            or delta.get("reasoning_content")
            or delta.get("reasoning")
        ):
            return True
    return False


async def guard_stream(
    chunks: AsyncIterator[JSONDict], *, provider: str, timeouts: Timeouts
) -> AsyncIterator[JSONDict]:
    """Enforce first-token, between-chunk and total deadlines on a chunk stream, and mark late failures.

    Only the wait for the upstream is timed, never the time the consumer spends between chunks. A
    non-timeout `ProviderError` raised after a chunk was delivered becomes `StreamInterrupted`.
    """
    loop = asyncio.get_running_loop()
    start = loop.time()
    total_deadline = start + timeouts.total
    first_deadline = start + timeouts.first_token
    got_content = False
    delivered = 0
    try:
        while True:
            now = loop.time()
            phase = "between_chunks" if got_content else "first_token"
            deadline = now + timeouts.between_chunks if got_content else first_deadline
            if total_deadline <= deadline:
                deadline, phase = total_deadline, "total"
            try:
                async with asyncio.timeout_at(deadline):
                    chunk = await anext(chunks)
            except StopAsyncIteration:
                return
            except TimeoutError:
                raise ProviderTimeout(
                    f"Provider '{provider}' sent nothing within the {phase.replace('_', '-')} timeout; "
                    "try again, fall back or raise the timeout.",
                    provider=provider,
                    phase=phase,  # type: ignore[arg-type]
                ) from None
            except ProviderError as error:
                if delivered and not isinstance(error, (StreamInterrupted, ProviderTimeout)):
                    raise StreamInterrupted(
                        f"The stream from '{provider}' broke after {delivered} chunks: {error.message}",
                        provider=provider,
                        status=error.status,
                        retryable=error.retryable,
                        retry_after=error.retry_after,
                    ) from error
                raise
            got_content = got_content or has_content(chunk)
            delivered += 1
            yield chunk
    finally:
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            await aclose()  # releases the upstream connection when the consumer stops early


__all__ = ["ChatProvider", "JSONDict", "Timeouts", "guard_stream", "has_content"]
