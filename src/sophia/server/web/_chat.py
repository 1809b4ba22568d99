"""Answering a chat turn: stream from the gateway, relay tokens, honour stop, and persist how the answer ended."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sophia.errors import SophiaError
from sophia.gateway import Caller, Gateway
from sophia.server.web._conversations import ConversationService, MessageInfo

__all__ = ["ChatRunner", "Final", "Started", "Token"]

log = logging.getLogger("sophia.web.chat")


@dataclass(frozen=True, slots=True)
class Started:
    model: str
    provider: str


@dataclass(frozen=True, slots=True)
class Token:
    text: str


@dataclass(frozen=True, slots=True)
class Final:
    message: MessageInfo


ChatEvent = Started | Token | Final


def _delta_text(chunk: dict[str, Any]) -> str:
    parts = []
    for choice in chunk.get("choices") or ():
        content = (choice.get("delta") or {}).get("content")
        if isinstance(content, str):
            parts.append(content)
    return "".join(parts)


@dataclass(slots=True)
class _Progress:
    text: str = ""
    model: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    stopped: bool = False


class ChatRunner:
    """One per process; `stop()` reaches a stream running in this process (a stop on another replica is a no-op)."""

    def __init__(self, gateway: Gateway, conversations: ConversationService) -> None:
        self._gateway = gateway
        self._conversations = conversations
        self._stops: dict[int, asyncio.Event] = {}

    def stop(self, message_id: int) -> bool:
        event = self._stops.get(message_id)
        if event is None:
            return False
        event.set()
        return True

    async def answer(
        self, owner: int, message_id: int, caller: Caller, request_id: str
    ) -> AsyncIterator[ChatEvent]:
        """Stream the pending answer `message_id`; an answer already written is replayed as one Final event."""
        claimed = await self._conversations.claim(owner, message_id)
        if claimed is None:
            yield Final(await self._conversations.message(owner, message_id))
            return
        message, history = claimed
        stop = self._stops.setdefault(message.id, asyncio.Event())
        progress = _Progress()
        status, error = "error", None
        try:
            body = {
                "model": message.requested_model or "auto",
                "messages": history,
                "stream": True,
                "stream_options": {"include_usage": True},
            }
            entry, chunks = await self._gateway.open_stream(body, caller, request_id)
            progress.model = entry.name
            yield Started(entry.name, entry.provider)
            async for token in self._relay(progress, chunks, stop):
                yield token
            status = "stopped" if progress.stopped else "done"
            self._price(progress, entry)
        except SophiaError as failure:
            error = failure.message
        finally:
            self._stops.pop(message.id, None)
            if status == "error" and error is None:
                status = "stopped"  # the client went away mid-stream
            final = await asyncio.shield(self._finish(message.id, progress, status, error, request_id))
        yield Final(final)

    async def _relay(
        self, progress: _Progress, chunks: AsyncIterator[dict[str, Any]], stop: asyncio.Event
    ) -> AsyncIterator[Token]:
        """Tokens as they come, with usage noted in `progress`; sets `progress.stopped` on an early stop."""
        try:
            async for chunk in chunks:
                usage = chunk.get("usage")
                if usage:
                    progress.input_tokens = int(usage.get("prompt_tokens") or 0)
                    progress.output_tokens = int(usage.get("completion_tokens") or 0)
                text = _delta_text(chunk)
                if text:
                    progress.text += text
                    yield Token(text)
                if stop.is_set():
                    progress.stopped = True
                    return
        finally:
            close = getattr(chunks, "aclose", None)
            if close is not None:
                await asyncio.shield(close())

    def _price(self, progress: _Progress, entry: Any) -> None:
        if not progress.output_tokens and progress.text:
            progress.output_tokens = max(
                1, len(progress.text) // 4
            )  # the gateway's estimate when no usage came
        progress.cost_usd = float(entry.cost(progress.input_tokens, progress.output_tokens))

    async def _finish(
        self, message_id: int, progress: _Progress, status: str, error: str | None, request_id: str
    ) -> MessageInfo:
        return await self._conversations.finish(
            message_id,
            content=progress.text,
            status=status,
            model=progress.model,
            request_id=request_id,
            input_tokens=progress.input_tokens,
            output_tokens=progress.output_tokens,
            cost_usd=progress.cost_usd,
            error=(error or "")[:500] or None,
        )
