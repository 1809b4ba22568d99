"""Answering a chat turn through the chat orchestrator: relay its tokens, honour stop, persist, with citations.

`sophia.agents.ChatOrchestrator` does the work (intent, recall of the user's memories as cited notes, the
streamed answer with the conversation's history and the chosen model, remembering the turn); this module
claims the pending answer, turns the orchestrator's events into the page's, and saves how the answer ended.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sophia.accounts import Role
from sophia.agents import AgentRunner, ApprovalWaits, ChatOrchestrator
from sophia.agents import ChatEvent as AgentEvent
from sophia.conversations import Citation, ConversationService, MessageInfo
from sophia.errors import SophiaError
from sophia.gateway import Caller, Gateway
from sophia.memory import MemoryService
from sophia.runs import default_agents, default_team
from sophia.server._toolkit import ToolKit
from sophia.tools import ApprovalRecord, ToolContext

__all__ = ["ChatRunner", "Citation", "Final", "Held", "Recalled", "Started", "Token"]


@dataclass(frozen=True, slots=True)
class Started:
    model: str
    provider: str


@dataclass(frozen=True, slots=True)
class Token:
    text: str


@dataclass(frozen=True, slots=True)
class Recalled:
    citations: tuple[Citation, ...]


@dataclass(frozen=True, slots=True)
class Held:
    """A tool call of this turn waits for the user: the page shows approve and deny; the turn then goes on."""

    approval: ApprovalRecord


@dataclass(frozen=True, slots=True)
class Final:
    message: MessageInfo

    @property
    def citations(self) -> tuple[Citation, ...]:
        return self.message.citations


ChatEvent = Started | Recalled | Held | Token | Final


@dataclass(slots=True)
class _Progress:
    text: str = ""
    status: str = "stopped"  # what a turn whose client went away mid-stream ends as
    error: str | None = None
    usage: dict[str, Any] | None = None
    citations: tuple[Citation, ...] = ()


@dataclass(frozen=True, slots=True)
class Asker:
    """Who asks: their tool calls run under their role in the approval policy."""

    user_id: int
    user_name: str | None = None
    role: Role = Role.MEMBER


class ChatRunner:
    """One per process; `stop()` reaches a stream running in this process (a stop on another replica is a no-op).

    The chat has the process's tools (`ToolKit`) under the asker's role; a held call waits in the turn until it
    is decided (`wake()` ends the wait at once when it is decided in this process).
    """

    def __init__(self, gateway: Gateway, conversations: ConversationService, tools: ToolKit) -> None:
        self._conversations = conversations
        self._tools = tools
        self._agents = default_agents(tools.registry)
        self._team = default_team(self._agents)
        self._runner = AgentRunner(gateway, tools.invoker, agents=list(self._agents.values()))
        # A turn that stops waiting hands its held call to the Approvals page, where approving then runs it.
        self._waits = ApprovalWaits(abandon=tools.invoker.hand_over)
        self._stops: dict[int, asyncio.Event] = {}

    def wake(self, approval_id: str) -> None:
        self._waits.wake(approval_id)

    def stop(self, message_id: int) -> bool:
        event = self._stops.get(message_id)
        if event is None:
            return False
        event.set()
        return True

    async def answer(
        self,
        asker: Asker,
        message_id: int,
        caller: Caller,
        request_id: str,
        memory: MemoryService | None = None,
    ) -> AsyncIterator[ChatEvent]:
        """Stream the pending answer `message_id`; an answer already written is replayed as one Final event."""
        owner = asker.user_id
        claimed = await self._conversations.claim(owner, message_id)
        if claimed is None:
            yield Final(await self._conversations.message(owner, message_id))
            return
        message, history = claimed
        stop = self._stops.setdefault(message.id, asyncio.Event())
        progress = _Progress()
        last = len(history) - 1 if history and history[-1]["role"] == "user" else len(history)
        question = history[last]["content"] if last < len(history) else ""
        context = ToolContext(
            user_id=owner,
            user_name=asker.user_name,
            role=asker.role,
            agent="chat",
            workspace=self._tools.workspaces.fresh(f"chat_{message.conversation_id}"),
            memory_namespaces=(f"user:{owner}",),
            resumed_by="chat",
        )
        orchestrator = ChatOrchestrator(
            self._runner,
            memory,
            agents=self._agents,
            team=self._team,
            answer_model=message.requested_model or "auto",
            waits=self._waits,
        )
        events = orchestrator.respond(
            question,
            context=context,
            conversation_id=message.conversation_id,
            history=history[:last],
            turn_index=max(0, message.id - 1),
            stop=stop,
            caller=caller,
            request_id=request_id,
        )
        try:
            async for event in events:
                if event.type == "approval":
                    yield Held(await self._tools.invoker.approval(str(event.data["approval_id"])))
                    continue
                page_event = _relay(event, progress)
                if page_event is not None:
                    yield page_event
        except SophiaError as failure:
            progress.status, progress.error = "error", failure.message
        finally:
            await events.aclose()  # type: ignore[attr-defined]
            self._stops.pop(message.id, None)
            final = await asyncio.shield(self._finish(message.id, progress, request_id))
        yield Final(final)

    async def _finish(self, message_id: int, progress: _Progress, request_id: str) -> MessageInfo:
        usage = progress.usage or {}
        return await self._conversations.finish(
            message_id,
            content=progress.text,
            status=progress.status,
            model=usage.get("model"),
            request_id=request_id,
            input_tokens=int(usage.get("input_tokens") or 0),
            output_tokens=int(usage.get("output_tokens") or 0),
            cost_usd=float(usage.get("cost_usd") or 0.0),
            error=(progress.error or "")[:500] or None,
            citations=[c.to_dict() for c in progress.citations] or None,
        )


def _relay(event: AgentEvent, progress: _Progress) -> ChatEvent | None:
    """The page's event for one orchestrator event, noting text, usage and how the turn ended in `progress`."""
    if event.type == "token":
        progress.text += event.text
        return Token(event.text)
    if event.type == "model":
        progress.usage = {"model": event.text}
        return Started(event.text, str(event.data.get("provider") or ""))
    if event.type == "citations":
        progress.citations = tuple(Citation.of(c) for c in event.data.get("citations") or ())
        return Recalled(progress.citations) if progress.citations else None
    if event.type in ("final", "error"):
        progress.usage = event.data
        progress.status = (
            "error" if event.type == "error" else "stopped" if event.data.get("stopped") else "done"
        )
        progress.error = event.text if event.type == "error" else None
    return None
