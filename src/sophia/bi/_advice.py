"""Coaching advice from the model: the metrics are the code's (`TeamCoach`); the model only writes advice, and each
item must cite a moment of one of the rep's calls by its timestamp. An item citing a moment that is not one of the
offered quotes, or output that is not the asked shape, is dropped, never shown."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from sophia.bi._coach import Quote, RepMetrics, TeamCoach

__all__ = ["Advice", "AdviceItem", "coach_advice", "timestamp"]

Ask = Callable[[str, str], Awaitable[str]]
MAX_MOMENTS = 40
MAX_ITEMS = 5
_STAMP = re.compile(r"\d{2,}:\d{2}")


def timestamp(ms: int) -> str:
    """ms from the call's start as "mm:ss" (minutes may run past 59)."""
    seconds = ms // 1000
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


@dataclass(frozen=True)
class AdviceItem:
    text: str
    quote: Quote

    def json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "call_id": self.quote.call_id,
            "at": timestamp(self.quote.start_ms),
            "quote": self.quote.json(),
        }


@dataclass
class Advice:
    rep_id: str | None
    items: list[AdviceItem] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    """Why each dropped item (or the whole output) was refused."""

    def json(self) -> dict[str, Any]:
        return {"rep_id": self.rep_id, "items": [i.json() for i in self.items], "dropped": self.dropped}


def _moments(team: TeamCoach, rep: RepMetrics) -> list[Quote]:
    calls = [c for c in team.calls.values() if c.rep_id == rep.rep_id]
    return [q for c in calls for q in c.moments()][:MAX_MOMENTS]


def _prompt(team: TeamCoach, rep: RepMetrics, moments: Sequence[Quote]) -> str:
    lines = [f"Rep: {rep.name or rep.rep_id}", "Metrics (rep, difference from the team):"]
    diff = team.versus_team(rep)
    lines += [f"- {name}: {getattr(rep, name):.3f} ({value:+.3f})" for name, value in diff.items()]
    lines.append("Moments (call id, timestamp mm:ss, speaker, kind, quote):")
    lines += [
        f'- {q.call_id} {timestamp(q.start_ms)} {q.speaker_role} [{q.matched}] "{q.text}"' for q in moments
    ]
    return "\n".join(lines)


SYSTEM = (
    "You are a sales coach. Write at most five pieces of advice for the rep from the metrics and moments given. "
    "Each must cite one of the listed moments by its call id and timestamp. Answer with JSON only: "
    '{"advice": [{"text": "advice", "call_id": "the call id", "at": "mm:ss"}]}'
)


def _parse(text: str) -> list[Any] | None:
    match = re.search(r"\{.*\}", text, re.S)
    try:
        data = orjson.loads(match.group()) if match else None
    except orjson.JSONDecodeError:
        return None
    items = data.get("advice") if isinstance(data, dict) else None
    return items if isinstance(items, list) else None


def _item(raw: Any, moments: dict[tuple[str, str], Quote]) -> AdviceItem | str:
    """The item, or why it is dropped."""
    if not isinstance(raw, dict):
        return "an item is not an object"
    text, call_id, at = raw.get("text"), raw.get("call_id"), raw.get("at")
    if not (isinstance(text, str) and text.strip() and isinstance(call_id, str) and isinstance(at, str)):
        return "an item lacks text, call_id or at"
    quote = moments.get((call_id, at))
    if quote is None:
        return f"{call_id} {at} is not one of the call's quotes"
    cited = {m for m in _STAMP.findall(text)}
    stray = sorted(cited - {stamp for cid, stamp in moments if cid == call_id})
    if stray:
        return f"the text cites {', '.join(stray)}, not a quote of {call_id}"
    return AdviceItem(text.strip(), quote)


async def coach_advice(team: TeamCoach, rep: RepMetrics, model: Ask) -> Advice:
    """Advice for `rep` from `model(system, user) -> text`, keeping only items that cite an offered moment."""
    moments = _moments(team, rep)
    advice = Advice(rep.rep_id)
    if not moments:
        advice.dropped.append("the rep's calls have no moments to cite")
        return advice
    items = _parse(await model(SYSTEM, _prompt(team, rep, moments)))
    if items is None:
        advice.dropped.append('the model\'s output is not {"advice": [...]}')
        return advice
    by_stamp = {(q.call_id, timestamp(q.start_ms)): q for q in moments}
    for raw in items[:MAX_ITEMS]:
        kept = _item(raw, by_stamp)
        if isinstance(kept, AdviceItem):
            advice.items.append(kept)
        else:
            advice.dropped.append(kept)
    advice.dropped += [f"item {n + 1} is past the first {MAX_ITEMS}" for n in range(MAX_ITEMS, len(items))]
    return advice
