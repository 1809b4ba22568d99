"""The strategy agent: growth opportunities and risks ranked by evidence weight, each with its evidence.

Evidence: lost deals by lost reason (count and amount lost), win rates by account industry, competitor mentions
in calls (the coach's timestamped quotes), and research findings kept in memory with their citations. An item's
weight is its share of its own evidence pool (amount lost, amount won, mentions, finding support), so items of
different kinds rank on one 0–1 scale. Every number in an item's text comes from its evidence rows
(`untraceable_numbers`); the model may only write prose over the ranked list, and prose with an untraceable
number is dropped.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from sophia.bi._ask import Ask, untraceable_numbers
from sophia.bi._coach import CoachPhrases, coach
from sophia.memory import Memory

__all__ = ["Evidence", "Strategy", "StrategyItem", "strategy"]

Row = Mapping[str, Any]
MAX_EVIDENCE = 25
_RISK_WORDS = ("risk", "threat", "declin", "churn", "loss", "lose", "competit", "pressure", "cut", "slow")
_GROWTH_WORDS = (
    "growth",
    "grow",
    "demand",
    "opportunit",
    "expand",
    "increas",
    "adopt",
    "rising",
    "new market",
)


@dataclass(frozen=True)
class Evidence:
    """One record behind an item: a deal, a call moment or a research finding, with a link when there is one."""

    kind: str
    id: str
    label: str
    url: str | None = None
    value: float | None = None

    def json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class StrategyItem:
    kind: str
    """'risk' or 'opportunity'."""
    title: str
    text: str
    weight: float
    figures: dict[str, float]
    evidence: list[Evidence]

    def json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "title": self.title,
            "text": self.text,
            "weight": round(self.weight, 4),
            "figures": self.figures,
            "evidence": [e.json() for e in self.evidence],
        }


@dataclass
class Strategy:
    question: str | None
    items: list[StrategyItem]
    prose: str | None = None
    refused: str | None = None
    untraceable: list[float] = field(default_factory=list)

    def json(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "items": [i.json() for i in self.items],
            "prose": self.prose,
            "refused": self.refused,
            "untraceable": self.untraceable,
        }


def _money(value: float) -> str:
    return f"{value:,.0f}"


def _deal_evidence(deals: Sequence[Row]) -> list[Evidence]:
    ordered = sorted(deals, key=lambda d: (-float(d.get("amount") or 0), str(d["source_id"])))
    return [
        Evidence("deal", str(d["source_id"]), str(d.get("name") or d["source_id"]), d.get("source_url"),
                 float(d.get("amount") or 0))
        for d in ordered[:MAX_EVIDENCE]
    ]  # fmt: skip


def lost_reason_items(deals: Sequence[Row]) -> list[StrategyItem]:
    lost: dict[str, list[Row]] = defaultdict(list)
    for deal in deals:
        if deal.get("is_closed") and not deal.get("is_won"):
            lost[str(deal.get("lost_reason") or "no reason given")].append(deal)
    total = sum(float(d.get("amount") or 0) for group in lost.values() for d in group)
    items = []
    for reason, group in lost.items():
        amount = sum(float(d.get("amount") or 0) for d in group)
        text = f"{len(group)} closed deals lost on {reason}, {_money(amount)} in deal amount lost."
        items.append(
            StrategyItem("risk", f"Losses on {reason}", text, amount / total if total else 0.0,
                         {"deals": len(group), "amount_lost": amount}, _deal_evidence(group))
        )  # fmt: skip
    return items


def industry_items(deals: Sequence[Row], accounts: Sequence[Row]) -> list[StrategyItem]:
    """Industries that win more often than the business as a whole: where to grow."""
    industry = {str(a["source_id"]): a.get("industry") for a in accounts}
    closed: dict[str, list[Row]] = defaultdict(list)
    for deal in deals:
        found = industry.get(str(deal.get("account_id")))
        if deal.get("is_closed") and found:
            closed[str(found)].append(deal)
    all_closed = [d for group in closed.values() for d in group]
    if not all_closed:
        return []
    overall = sum(bool(d.get("is_won")) for d in all_closed) / len(all_closed)
    won_total = sum(float(d.get("amount") or 0) for d in all_closed if d.get("is_won"))
    items = []
    for name, group in closed.items():
        won = [d for d in group if d.get("is_won")]
        rate = len(won) / len(group)
        if len(group) < 2 or rate <= overall:
            continue
        amount = sum(float(d.get("amount") or 0) for d in won)
        text = (
            f"{name}: {len(won)} of {len(group)} closed deals won ({rate:.0%} against {overall:.0%} overall), "
            f"{_money(amount)} won."
        )
        items.append(
            StrategyItem("opportunity", f"Grow in {name}", text, amount / won_total if won_total else 0.0,
                         {"won": len(won), "closed": len(group), "win_rate_pct": round(100 * rate),
                          "overall_win_rate_pct": round(100 * overall), "amount_won": amount}, _deal_evidence(won))
        )  # fmt: skip
    return items


def competitor_items(
    calls: Sequence[Row], sentences: Sequence[Row], reps: Sequence[Row], competitors: Sequence[str]
) -> list[StrategyItem]:
    if not competitors or not calls:
        return []
    team = coach(calls, sentences, reps, CoachPhrases(competitors=tuple(competitors)))
    quotes: dict[str, list[Evidence]] = defaultdict(list)
    for metrics in team.calls.values():
        for quote in metrics.competitor_mentions:
            name = next(c for c in competitors if c.lower() in quote.text.lower())
            quotes[name].append(
                Evidence("call", f"{quote.call_id}@{quote.start_ms}", quote.text[:300], None, quote.start_ms)
            )
    total = sum(len(q) for q in quotes.values())
    items = []
    for name, found in quotes.items():
        in_calls = len({e.id.split("@")[0] for e in found})
        items.append(
            StrategyItem("risk", f"Competitor {name}", f"{name} is named {len(found)} times in {in_calls} calls.",
                         len(found) / total, {"mentions": len(found), "calls": in_calls}, found[:MAX_EVIDENCE])
        )  # fmt: skip
    return items


def _leaning(text: str) -> str:
    lowered = text.lower()
    risk = sum(lowered.count(w) for w in _RISK_WORDS)
    growth = sum(lowered.count(w) for w in _GROWTH_WORDS)
    return "risk" if risk > growth else "opportunity"


def research_items(findings: Sequence[Memory]) -> list[StrategyItem]:
    """One item per research finding, leaning risk or opportunity by its words, weighted by its support."""
    total = sum(m.importance for m in findings)
    items = []
    for memory in findings:
        claim = str(memory.metadata.get("claim") or memory.content)[:400]
        title = str(memory.metadata.get("title") or memory.source or memory.id)[:200]
        cite = Evidence("research", memory.id, title, memory.source, None)
        items.append(
            StrategyItem(_leaning(f"{claim} {memory.content}"), f"Research: {title}", claim,
                         memory.importance / total if total else 0.0, {}, [cite])
        )  # fmt: skip
    return items


def _traced(item: StrategyItem) -> list[float]:
    rows: list[dict[str, Any]] = [dict(item.figures)]
    rows += ({"label": e.label, "value": e.value} for e in item.evidence)
    return untraceable_numbers(item.text, rows, item.title)


async def strategy(
    frames: Mapping[str, Sequence[Row]],
    findings: Sequence[Memory],
    *,
    question: str | None = None,
    competitors: Sequence[str] = (),
    model: Ask | None = None,
    top: int = 20,
) -> Strategy:
    """Opportunities and risks ranked by evidence weight; the model (optional) writes prose over them."""
    items = [
        *lost_reason_items(frames.get("deals", ())),
        *industry_items(frames.get("deals", ()), frames.get("accounts", ())),
        *competitor_items(
            frames.get("calls", ()), frames.get("call_sentences", ()), frames.get("reps", ()), competitors
        ),
        *research_items(findings),
    ]
    ranked = sorted((i for i in items if not _traced(i)), key=lambda i: (-i.weight, i.title))[:top]
    result = Strategy(question, ranked)
    if model is None or not ranked:
        return result
    listed = orjson.dumps([{"kind": i.kind, "title": i.title, "text": i.text} for i in ranked]).decode()
    prose = (
        await model(
            "You are a strategy analyst. From the ranked findings only, write a short paragraph on where to grow "
            "and what to guard against. Use only numbers that appear in the findings.",
            f"Question: {question or 'Where should we grow, and what are the risks?'}\nFindings: {listed}",
        )
    ).strip()
    rows = [{"text": i.text, "title": i.title, **i.figures} for i in ranked]
    bad = untraceable_numbers(prose, rows, question or "")
    if not prose or bad:
        result.refused = f"numbers not in the evidence: {bad}" if bad else "the model gave no prose"
        result.untraceable = bad
    else:
        result.prose = prose[:3000]
    return result
