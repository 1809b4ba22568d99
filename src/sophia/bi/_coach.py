"""The sales coach: per-call and per-rep conversation metrics computed from timed, speaker-attributed sentences.

Definitions (the same as the test business's ground truth):
- talk time of a role = Σ (end_ms - start_ms) of its sentences; talk ratio = rep talk / (rep + customer talk);
- questions = rep sentences ending with "?";
- a monologue = a maximal run of consecutive (by start_ms, then position) rep sentences, its length = last end_ms
  - first start_ms; the longest monologue is the longest run;
- interactivity = speaker changes (between consecutive sentences) per minute of talk span;
- next steps / objections / competitor mentions = sentences whose lower-cased text contains one of the phrases
  (`CoachPhrases`), kept as timestamped quotes so advice can cite them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CallMetrics",
    "CoachPhrases",
    "Quote",
    "RepMetrics",
    "TeamCoach",
    "call_metrics",
    "coach",
]

Row = Mapping[str, Any]


@dataclass(frozen=True)
class CoachPhrases:
    next_steps: tuple[str, ...] = (
        "next step",
        "follow up",
        "follow-up",
        "send over",
        "schedule",
        "by friday",
    )
    objections: tuple[str, ...] = (
        "too expensive",
        "not in the budget",
        "concern",
        "not sure",
        "we already use",
        "not a priority",
    )
    competitors: tuple[str, ...] = ()


@dataclass(frozen=True)
class Quote:
    """A sentence that backs a finding: which call, when (ms from the call's start), who said it, what."""

    call_id: str
    sentence_id: str
    start_ms: int
    speaker_role: str
    text: str
    matched: str

    def json(self) -> dict[str, Any]:
        return {
            "call_id": self.call_id,
            "sentence_id": self.sentence_id,
            "start_ms": self.start_ms,
            "speaker_role": self.speaker_role,
            "text": self.text,
            "matched": self.matched,
        }


@dataclass(frozen=True)
class CallMetrics:
    call_id: str
    rep_id: str | None
    rep_talk_ms: int
    customer_talk_ms: int
    talk_ratio: float
    questions: int
    longest_monologue_ms: int
    interactivity: float
    """Speaker changes per minute."""
    next_steps: tuple[Quote, ...] = ()
    objections: tuple[Quote, ...] = ()
    competitor_mentions: tuple[Quote, ...] = ()
    longest_monologue: Quote | None = None
    """The first sentence of the longest monologue (where it starts)."""

    def moments(self) -> list[Quote]:
        """Every timestamped moment of the call that advice may cite."""
        found = [*self.next_steps, *self.objections, *self.competitor_mentions]
        return [*found, self.longest_monologue] if self.longest_monologue else found

    def json(self) -> dict[str, Any]:
        return {
            "call_id": self.call_id,
            "rep_id": self.rep_id,
            "rep_talk_ms": self.rep_talk_ms,
            "customer_talk_ms": self.customer_talk_ms,
            "talk_ratio": self.talk_ratio,
            "questions": self.questions,
            "longest_monologue_ms": self.longest_monologue_ms,
            "interactivity": self.interactivity,
            "next_steps": [q.json() for q in self.next_steps],
            "objections": [q.json() for q in self.objections],
            "competitor_mentions": [q.json() for q in self.competitor_mentions],
            "longest_monologue": self.longest_monologue.json() if self.longest_monologue else None,
        }


def _quote(call_id: str, sentence: Row, matched: str) -> Quote:
    return Quote(
        call_id,
        str(sentence.get("source_id") or ""),
        int(sentence["start_ms"]),
        str(sentence["speaker_role"]),
        str(sentence["text"]),
        matched,
    )


def _matches(call_id: str, sentence: Row, phrases: Sequence[str]) -> Quote | None:
    lowered = str(sentence["text"]).lower()
    for phrase in phrases:
        if phrase.lower() in lowered:
            return _quote(call_id, sentence, phrase)
    return None


def _quotes(call_id: str, sentences: Sequence[Row], phrases: Sequence[str]) -> tuple[Quote, ...]:
    found = (_matches(call_id, s, phrases) for s in sentences)
    return tuple(q for q in found if q is not None)


def call_metrics(
    call_id: str, rep_id: str | None, sentences: Iterable[Row], phrases: CoachPhrases | None = None
) -> CallMetrics:
    """The metrics of one call from its sentence rows (`speaker_role`, `speaker_id`, `start_ms`, `end_ms`,
    `position`, `text`, `source_id`)."""
    phrases = phrases or CoachPhrases()
    ordered = sorted(sentences, key=lambda s: (int(s["start_ms"]), int(s["position"])))
    talk = {"rep": 0, "customer": 0}
    questions, longest, switches = 0, 0, 0
    run_start: int | None = None
    run_first: Row | None = None
    longest_first: Row | None = None
    previous_speaker: str | None = None
    for sentence in ordered:
        role = str(sentence["speaker_role"])
        start, end = int(sentence["start_ms"]), int(sentence["end_ms"])
        talk[role] = talk.get(role, 0) + end - start
        speaker = str(sentence["speaker_id"])
        switches += previous_speaker is not None and speaker != previous_speaker
        previous_speaker = speaker
        if role == "rep":
            questions += str(sentence["text"]).endswith("?")
            if run_start is None:
                run_start, run_first = start, sentence
            if end - run_start > longest or longest_first is None:
                longest, longest_first = max(longest, end - run_start), run_first
        else:
            run_start = None
    total = talk["rep"] + talk["customer"]
    span_ms = int(ordered[-1]["end_ms"]) - int(ordered[0]["start_ms"]) if ordered else 0
    return CallMetrics(
        call_id,
        rep_id,
        talk["rep"],
        talk["customer"],
        talk["rep"] / total if total else 0.0,
        questions,
        longest,
        switches / (span_ms / 60000) if span_ms else 0.0,
        _quotes(call_id, [s for s in ordered if s["speaker_role"] == "rep"], phrases.next_steps),
        _quotes(call_id, [s for s in ordered if s["speaker_role"] == "customer"], phrases.objections),
        _quotes(call_id, ordered, phrases.competitors),
        _quote(call_id, longest_first, "longest monologue") if longest_first is not None else None,
    )


@dataclass(frozen=True)
class RepMetrics:
    """A rep's (or the team's) aggregate over calls: ratios of sums, means of per-call counts."""

    rep_id: str | None
    name: str | None
    calls: int
    talk_ratio: float
    questions_per_call: float
    mean_longest_monologue_ms: float
    interactivity: float
    next_steps_per_call: float
    objections_per_call: float
    competitor_mentions_per_call: float

    def json(self) -> dict[str, Any]:
        return {
            "rep_id": self.rep_id,
            "name": self.name,
            "calls": self.calls,
            "talk_ratio": self.talk_ratio,
            "questions_per_call": self.questions_per_call,
            "mean_longest_monologue_ms": self.mean_longest_monologue_ms,
            "interactivity": self.interactivity,
            "next_steps_per_call": self.next_steps_per_call,
            "objections_per_call": self.objections_per_call,
            "competitor_mentions_per_call": self.competitor_mentions_per_call,
        }


_COMPARED = (
    "talk_ratio",
    "questions_per_call",
    "mean_longest_monologue_ms",
    "interactivity",
    "next_steps_per_call",
    "objections_per_call",
    "competitor_mentions_per_call",
)


def _aggregate(rep_id: str | None, name: str | None, calls: Sequence[CallMetrics]) -> RepMetrics:
    n = len(calls)
    rep = sum(c.rep_talk_ms for c in calls)
    total = rep + sum(c.customer_talk_ms for c in calls)

    def mean(values: Iterable[float]) -> float:
        return sum(values) / n if n else 0.0

    return RepMetrics(
        rep_id,
        name,
        n,
        rep / total if total else 0.0,
        mean(c.questions for c in calls),
        mean(c.longest_monologue_ms for c in calls),
        mean(c.interactivity for c in calls),
        mean(len(c.next_steps) for c in calls),
        mean(len(c.objections) for c in calls),
        mean(len(c.competitor_mentions) for c in calls),
    )


@dataclass
class TeamCoach:
    """Every call's metrics, every rep's aggregate and the team baseline."""

    calls: dict[str, CallMetrics] = field(default_factory=dict)
    reps: dict[str, RepMetrics] = field(default_factory=dict)
    team: RepMetrics | None = None

    def rep(self, key: str) -> RepMetrics | None:
        """A rep by id, name or email (case-insensitive for names)."""
        if key in self.reps:
            return self.reps[key]
        lowered = key.lower()
        return next((r for r in self.reps.values() if (r.name or "").lower() == lowered), None)

    def versus_team(self, rep: RepMetrics) -> dict[str, float]:
        """Each metric's difference from the team baseline (rep − team)."""
        team = self.team or rep
        return {name: getattr(rep, name) - getattr(team, name) for name in _COMPARED}

    def report(self, rep: RepMetrics) -> dict[str, Any]:
        calls = [c.json() for c in self.calls.values() if c.rep_id == rep.rep_id]
        return {
            "rep": rep.json(),
            "team": self.team.json() if self.team else None,
            "versus_team": self.versus_team(rep),
            "calls": calls,
        }


def coach(
    calls: Sequence[Row],
    sentences: Sequence[Row],
    reps: Sequence[Row] = (),
    phrases: CoachPhrases | None = None,
) -> TeamCoach:
    """Metrics for every call (rows of `calls`, its `owner_id` is the rep) from the `call_sentences` rows."""
    by_call: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for sentence in sentences:
        by_call[(str(sentence["source"]), str(sentence["call_id"]))].append(sentence)
    names = {str(r["source_id"]): r.get("name") for r in reps}
    result = TeamCoach()
    per_rep: dict[str, list[CallMetrics]] = defaultdict(list)
    for call in calls:
        call_id = str(call["source_id"])
        rep_id = str(call["owner_id"]) if call.get("owner_id") else None
        metrics = call_metrics(call_id, rep_id, by_call.get((str(call["source"]), call_id), []), phrases)
        result.calls[call_id] = metrics
        if rep_id:
            per_rep[rep_id].append(metrics)
    result.reps = {
        rep_id: _aggregate(rep_id, names.get(rep_id), ms) for rep_id, ms in sorted(per_rep.items())
    }
    result.team = _aggregate(None, "team", list(result.calls.values()))
    return result
