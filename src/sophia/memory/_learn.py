"""Facts and preferences learned from conversations by a model: mem0's add / update / delete, as add-only versions.

The model sees the new turns and the current facts it may change, numbered; it answers with decisions on those
numbers. The answer is checked whole (`parse_decisions`) before anything is written: an unknown event, a number not
offered, an empty text or a stray key refuses it all. An update writes a new version, a delete closes validity, so
nothing learned is ever lost.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sophia.memory._graph_extract import GraphOutputRefused
from sophia.memory._model import Memory, MemoryKind

EVENTS = ("ADD", "UPDATE", "DELETE", "NONE")
LEARNED_KINDS = (MemoryKind.FACT, MemoryKind.PREFERENCE)
MAX_FACT = 1000


class LearnOutputRefused(GraphOutputRefused):
    """The model's decisions were not the JSON shape asked for; nothing of them was written."""


@dataclass(frozen=True)
class Decision:
    event: str
    kind: MemoryKind
    text: str
    target: Memory | None = None


@dataclass(frozen=True)
class LearnReport:
    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()
    refused: bool = False


PROMPT = (
    "You keep a user's long-term memory. From the conversation below, decide which facts about the user and which "
    "preferences to remember. Known memories are numbered. Answer with one JSON object only: "
    '{"decisions": [{"event": "ADD" | "UPDATE" | "DELETE" | "NONE", "number": int | null, '
    '"kind": "fact" | "preference", "text": str}]}. ADD a new memory (number null); UPDATE a known one whose '
    "content changed (its number, the new text); DELETE a known one the conversation contradicts (its number); "
    "NONE when nothing changes. Keep each text one short sentence.\n\n"
)


def prompt_for(conversation: str, known: Sequence[Memory]) -> str:
    lines = "\n".join(f"{i}. [{m.kind.value}] {m.content}" for i, m in enumerate(known)) or "(none)"
    return f"{PROMPT}Known memories:\n{lines}\n\nConversation:\n{conversation}"


def parse_decisions(answer: str, known: Sequence[Memory]) -> list[Decision]:
    try:
        data = json.loads(answer.strip().removeprefix("```json").removeprefix("```").removesuffix("```"))
    except ValueError:
        raise LearnOutputRefused("the model's memory decisions are not JSON") from None
    if not isinstance(data, dict) or set(data) != {"decisions"} or not isinstance(data["decisions"], list):
        raise LearnOutputRefused('the model must answer {"decisions": [...]}')
    decisions = [_decision(item, known) for item in data["decisions"]]
    targets = [d.target.id for d in decisions if d.target is not None]
    if len(targets) != len(set(targets)):
        raise LearnOutputRefused("a known memory may be updated or deleted once per answer")
    return decisions


def _decision(item: Any, known: Sequence[Memory]) -> Decision:
    if not isinstance(item, dict) or set(item) != {"event", "number", "kind", "text"}:
        raise LearnOutputRefused("each decision must have exactly event, number, kind and text")
    event, number, text = item["event"], item["number"], item["text"]
    if event not in EVENTS:
        raise LearnOutputRefused(f"unknown event {str(event)[:20]!r}: use one of {list(EVENTS)}")
    if item["kind"] not in [k.value for k in LEARNED_KINDS]:
        raise LearnOutputRefused("kind must be fact or preference")
    if not isinstance(text, str) or len(text) > MAX_FACT or (event in ("ADD", "UPDATE") and not text.strip()):
        raise LearnOutputRefused(
            f"text must be a string of at most {MAX_FACT} characters, non-empty to add or update"
        )
    target = None
    if event in ("UPDATE", "DELETE"):
        if isinstance(number, bool) or not isinstance(number, int) or not 0 <= number < len(known):
            raise LearnOutputRefused(f"{event} must name one of the known memories' numbers")
        target = known[number]
    elif number is not None:
        raise LearnOutputRefused(f"{event} takes no number")
    return Decision(event, MemoryKind(item["kind"]), text.strip(), target)


class FactLearner:
    """Asks a model (through the gateway, via `complete`) what a conversation teaches about its user."""

    def __init__(self, complete: Callable[[str], Awaitable[str]]) -> None:
        self.complete = complete

    async def decide(self, conversation: str, known: Sequence[Memory]) -> list[Decision]:
        return parse_decisions(await self.complete(prompt_for(conversation, known)), known)
