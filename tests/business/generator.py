"""A seeded test business with PLANTED structure, and the ground truth that analyses are measured against.

`generate(seed, size)` returns a `Business`: unified-model entities (source "truth") that the stand-in servers
(`standins.py`) serve in HubSpot, Salesforce and Gong shapes, plus `Business.truth`:

- **coach metrics**, exact per call and per rep, computed from the timed, speaker-attributed sentences with the
  definitions below; each rep also has the planted parameters the sentences were drawn from;
- **churn**: each account's churn probability, drawn from its signals (declining weekly logins, open P1 tickets at
  `as_of`, champion left before `as_of`) plus noise, and whether it churned in the 90 days after `as_of`;
- **bookings**: closed-won amount per calendar month over `months` (≥ 24) months, drawn with a planted trend and
  month-of-year seasonality;
- **stage probabilities**: P(won | the deal reached the stage), planted exactly by the stage process.

Definitions (what the BI engineer's metrics must compute to match exactly):
- talk time of a role in a call = Σ (end_ms - start_ms) of that role's sentences;
- talk ratio = rep talk / (rep talk + customer talk);
- questions = rep sentences whose text ends with "?";
- a monologue = a maximal run of consecutive (by start_ms) rep sentences; its length = last end_ms - first
  start_ms; the call's longest monologue is the longest such run.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import numpy as np

from sophia.business import (
    Account,
    Activity,
    BusinessRecord,
    Call,
    CallSentence,
    Contact,
    Deal,
    DealStageChange,
    PipelineStage,
    Rep,
    UsageWeek,
)

__all__ = [
    "NOW",
    "SIZES",
    "STAGES",
    "Business",
    "CallTruth",
    "ChurnTruth",
    "RepTruth",
    "Sizes",
    "Truth",
    "call_metrics",
    "generate",
]

R = TypeVar("R", bound=BusinessRecord)
NOW = datetime(2026, 11, 30, tzinfo=UTC)
"""The end of the generated history (fixed, so a seed always gives the same business)."""
SOURCE, SOURCE_KIND = "truth", "generated"
PIPELINE = "default"
STAGES: tuple[tuple[str, str, float], ...] = (
    ("appointmentscheduled", "Appointment Scheduled", 0.2),
    ("qualifiedtobuy", "Qualified To Buy", 0.4),
    ("presentationscheduled", "Presentation Scheduled", 0.6),
    ("decisionmakerboughtin", "Decision Maker Bought-In", 0.8),
    ("contractsent", "Contract Sent", 0.9),
    ("closedwon", "Closed Won", 1.0),
    ("closedlost", "Closed Lost", 0.0),
)
"""(id, label, P(won | reached)); the open stages' probabilities rise, so the stage process can plant them."""
_OPEN_STAGES = 5
_SEASONALITY = (0.8, 0.85, 1.15, 0.9, 0.95, 1.2, 0.75, 0.7, 1.1, 1.0, 1.05, 1.45)
_INDUSTRIES = ("Software", "Retail", "Healthcare", "Finance", "Manufacturing", "Media", "Education")
_LOST_REASONS = ("Price", "Timing", "Competitor", "No decision", "Missing feature")
_WORDS = ("rollout", "pricing", "security review", "integration", "onboarding", "dashboard", "renewal", "budget",
          "timeline", "pilot", "contract", "API", "migration", "training", "support plan")  # fmt: skip


@dataclass(frozen=True)
class Sizes:
    accounts: int = 200
    contacts: int = 1500
    deals: int = 600
    calls: int = 900
    activities: int = 2000
    reps: int = 12
    months: int = 30
    usage_weeks: int = 26


SIZES = {
    "full": Sizes(),
    "small": Sizes(
        accounts=24, contacts=96, deals=80, calls=30, activities=150, reps=4, months=24, usage_weeks=12
    ),
}


@dataclass(frozen=True)
class CallTruth:
    rep_id: str
    rep_talk_ms: int
    customer_talk_ms: int
    talk_ratio: float
    questions: int
    longest_monologue_ms: int


@dataclass(frozen=True)
class RepTruth:
    rep_id: str
    planted_talk_ratio: float
    planted_question_rate: float
    """Probability that a rep sentence is a question."""
    planted_monologue_sentences: float
    """Mean sentences per rep turn."""
    calls: int
    talk_ratio: float
    """Σ rep talk / Σ all talk over the rep's calls (exact)."""
    questions_per_call: float
    mean_longest_monologue_ms: float


@dataclass(frozen=True)
class ChurnTruth:
    account_id: str
    probability: float
    churned: bool
    declining_logins: bool
    open_p1_tickets: int
    champion_left: bool


@dataclass
class Truth:
    as_of: datetime
    """Churn signals are observed up to here; churn happens in the 90 days after."""
    calls: dict[str, CallTruth] = field(default_factory=dict)
    reps: dict[str, RepTruth] = field(default_factory=dict)
    churn: dict[str, ChurnTruth] = field(default_factory=dict)
    monthly_bookings: dict[str, float] = field(default_factory=dict)
    """"YYYY-MM" → closed-won amount, every month of the history (0.0 for none)."""
    seasonality: tuple[float, ...] = _SEASONALITY
    monthly_trend: float = 0.0
    stage_probabilities: dict[str, float] = field(default_factory=dict)
    """Stage label → planted P(won | reached)."""


@dataclass
class Business:
    seed: int
    sizes: Sizes
    now: datetime
    truth: Truth
    reps: list[Rep] = field(default_factory=list)
    accounts: list[Account] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)
    stages: list[PipelineStage] = field(default_factory=list)
    deals: list[Deal] = field(default_factory=list)
    deal_stages: list[DealStageChange] = field(default_factory=list)
    activities: list[Activity] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    sentences: list[CallSentence] = field(default_factory=list)
    usage: list[UsageWeek] = field(default_factory=list)

    def entities(self) -> list[BusinessRecord]:
        return [
            *self.reps,
            *self.accounts,
            *self.contacts,
            *self.stages,
            *self.deals,
            *self.deal_stages,
            *self.activities,
            *self.calls,
            *self.sentences,
            *self.usage,
        ]

    def sentences_of(self, call_id: str) -> list[CallSentence]:
        return [s for s in self.sentences if s.call_id == call_id]


def _make(cls: type[R], source_id: str, updated_at: datetime, **fields: Any) -> R:
    return cls(
        source=SOURCE,
        source_kind=SOURCE_KIND,
        source_id=source_id,
        source_url=f"https://truth.example/{source_id}",
        updated_at=updated_at,
        **fields,
    )


def call_metrics(rep_id: str, sentences: Sequence[CallSentence]) -> CallTruth:
    """The exact coach metrics of one call, by the module's definitions."""
    ordered = sorted(sentences, key=lambda s: (s.start_ms, s.position))
    talk = {"rep": 0, "customer": 0}
    questions, longest, run_start, run_end = 0, 0, None, 0
    for sentence in ordered:
        talk[sentence.speaker_role] += sentence.end_ms - sentence.start_ms
        if sentence.speaker_role == "rep":
            questions += sentence.text.endswith("?")
            run_start = sentence.start_ms if run_start is None else run_start
            run_end = sentence.end_ms
            longest = max(longest, run_end - run_start)
        else:
            run_start = None
    total = talk["rep"] + talk["customer"]
    ratio = talk["rep"] / total if total else 0.0
    return CallTruth(rep_id, talk["rep"], talk["customer"], ratio, questions, longest)


class _Builder:
    def __init__(self, seed: int, sizes: Sizes) -> None:
        self.rng = np.random.default_rng(seed)
        self.sizes = sizes
        self.as_of = NOW - timedelta(days=90)
        self.business = Business(seed, sizes, NOW, Truth(as_of=self.as_of))

    def day(self, start: datetime, end: datetime) -> datetime:
        span = max((end - start).total_seconds(), 1.0)
        return (start + timedelta(seconds=float(self.rng.uniform(0, span)))).replace(microsecond=0)

    def reps(self) -> None:
        count = self.sizes.reps
        for i in range(count):
            rep_id = f"rep-{i + 1:02d}"
            spread = i / max(count - 1, 1)
            self.business.reps.append(
                _make(
                    Rep,
                    rep_id,
                    NOW - timedelta(days=i),
                    name=f"Rep {i + 1}",
                    email=f"rep{i + 1}@sophia-sales.example",
                    title="Account Executive",
                )
            )
            self.business.truth.reps[rep_id] = RepTruth(
                rep_id,
                0.35 + 0.4 * spread,
                float(self.rng.uniform(0.05, 0.3)),
                float(1.5 + 4.0 * self.rng.random()),
                0,
                0.0,
                0.0,
                0.0,
            )

    def rep_id(self) -> str:
        return self.business.reps[int(self.rng.integers(len(self.business.reps)))].source_id

    def accounts(self) -> None:
        start = NOW - timedelta(days=30 * self.sizes.months + 180)
        for i in range(self.sizes.accounts):
            account_id = f"acc-{i + 1:04d}"
            created = self.day(start, self.as_of - timedelta(days=120))
            self.business.accounts.append(
                _make(
                    Account,
                    account_id,
                    self.day(created, NOW),
                    name=f"Company {i + 1}",
                    domain=f"company{i + 1}.example",
                    industry=_INDUSTRIES[i % len(_INDUSTRIES)],
                    owner_id=self.rep_id(),
                    employees=int(self.rng.integers(10, 5000)),
                    annual_revenue=float(round(self.rng.lognormal(16, 1), 2)),
                    created_at=created,
                )
            )

    def contacts(self) -> None:
        accounts = self.business.accounts
        for i in range(self.sizes.contacts):
            account = accounts[i % len(accounts)]
            contact_id = f"con-{i + 1:05d}"
            created = self.day(account.created_at or NOW, self.as_of)
            self.business.contacts.append(
                _make(
                    Contact,
                    contact_id,
                    self.day(created, NOW),
                    name=f"Person {i + 1}",
                    email=f"person{i + 1}@{account.domain}",
                    account_id=account.source_id,
                    title="VP Operations" if i < len(accounts) else "Manager",
                    is_champion=i < len(accounts),
                    created_at=created,
                )
            )

    def stages(self) -> None:
        for order, (stage, label, probability) in enumerate(STAGES):
            self.business.stages.append(
                _make(
                    PipelineStage,
                    f"stage-{stage}",
                    NOW - timedelta(days=400),
                    pipeline=PIPELINE,
                    stage=stage,
                    label=label,
                    probability=probability,
                    display_order=order,
                    is_closed=stage in ("closedwon", "closedlost"),
                    is_won=stage == "closedwon",
                )
            )
            if stage not in ("closedwon", "closedlost"):
                self.business.truth.stage_probabilities[label] = probability

    def months(self) -> list[datetime]:
        first = NOW.replace(day=1)
        out = []
        for back in range(self.sizes.months, 0, -1):
            year, month = divmod(first.month - 1 - back, 12)
            out.append(first.replace(year=first.year + year, month=month + 1))
        return out

    def _walk(self, entry: int) -> tuple[list[int], bool]:
        """The stages a closed deal passed through from `entry`, and whether it was won."""
        path, stage = [entry], entry
        while True:
            here = STAGES[stage][2]
            nxt = STAGES[stage + 1][2] if stage + 1 < _OPEN_STAGES else 1.0
            if self.rng.random() >= here / nxt:
                return path, False
            if stage + 1 == _OPEN_STAGES:
                return path, True
            stage += 1
            path.append(stage)

    def _months_for(self, count: int, weights: np.ndarray) -> list[int]:
        """`count` month indexes spread over the months in proportion to `weights` (largest remainder), shuffled:
        bookings then follow trend × seasonality with only the deal amounts' noise."""
        share = weights / weights.sum() * count
        quota = np.floor(share).astype(int)
        for index in np.argsort(-(share - quota))[: count - int(quota.sum())]:
            quota[index] += 1
        months = [m for m, n in enumerate(quota) for _ in range(int(n))]
        self.rng.shuffle(months)
        return months

    def _close_in(self, months: list[datetime], index: int) -> datetime:
        end = months[index + 1] if index + 1 < len(months) else NOW.replace(day=1)
        return self.day(months[index], end - timedelta(seconds=1))

    def deals(self) -> None:
        months = self.months()
        trend = 0.012
        weights = np.array([(1 + trend) ** i * _SEASONALITY[m.month - 1] for i, m in enumerate(months)])
        self.business.truth.monthly_trend = trend
        closed = self.sizes.deals - self.sizes.deals // 5
        entries = [int(self.rng.choice(3, p=[0.25, 0.3, 0.45])) for _ in range(self.sizes.deals)]
        walks = [self._walk(entries[i]) for i in range(closed)]
        won_months = iter(self._months_for(sum(won for _, won in walks), weights))
        lost_months = iter(self._months_for(sum(not won for _, won in walks), weights))
        bookings = {m.strftime("%Y-%m"): 0.0 for m in months}
        for i in range(self.sizes.deals):
            if i < closed:
                path, won = walks[i]
                close = self._close_in(months, next(won_months if won else lost_months))
            else:
                entry = entries[i]
                path, won = (
                    [entry + k for k in range(int(self.rng.integers(0, _OPEN_STAGES - entry)) + 1)],
                    False,
                )
                close = self.day(NOW + timedelta(days=5), NOW + timedelta(days=120))
            deal = self._deal(i, path, won, i < closed, close)
            if won:
                bookings[close.strftime("%Y-%m")] += deal.amount or 0.0
        self.business.truth.monthly_bookings = {k: round(v, 2) for k, v in bookings.items()}

    def _deal(self, i: int, path: list[int], won: bool, closed: bool, close: datetime) -> Deal:
        deal_id = f"deal-{i + 1:04d}"
        account = self.business.accounts[int(self.rng.integers(len(self.business.accounts)))]
        created = close - timedelta(days=int(self.rng.integers(30, 150)))
        final = (5 if won else 6) if closed else path[-1]
        stages = [*path, final] if closed else path
        last_entry = min(close, NOW - timedelta(hours=1))
        step = (last_entry - created) / max(len(stages), 1)
        for n, stage in enumerate(stages):
            entered = (created + step * n).replace(microsecond=0)
            self.business.deal_stages.append(
                _make(
                    DealStageChange,
                    f"{deal_id}:{n}",
                    entered,
                    deal_id=deal_id,
                    stage=STAGES[stage][0],
                    stage_label=STAGES[stage][1],
                    entered_at=entered,
                )
            )
        amount = float(round(self.rng.lognormal(math.log(20000), 0.35) / 100) * 100)
        deal = _make(
            Deal,
            deal_id,
            min(last_entry + timedelta(hours=1), NOW),
            name=f"{account.name} deal {i + 1}",
            account_id=account.source_id,
            owner_id=account.owner_id,
            pipeline=PIPELINE,
            stage=STAGES[final][0],
            stage_label=STAGES[final][1],
            probability=STAGES[final][2],
            amount=amount,
            currency="USD",
            close_date=close,
            created_at=created,
            is_closed=closed,
            is_won=won,
            lost_reason=_LOST_REASONS[i % len(_LOST_REASONS)] if closed and not won else None,
        )
        self.business.deals.append(deal)
        return deal

    def churn(self) -> None:
        """Signals first (logins, P1 tickets, champion), then churn drawn from them with noise."""
        champions = {c.account_id: i for i, c in enumerate(self.business.contacts) if c.is_champion}
        for account in self.business.accounts:
            declining = bool(self.rng.random() < 0.3)
            champion_left = bool(self.rng.random() < 0.15) and account.source_id in champions
            open_p1 = int(self.rng.poisson(1.2 if self.rng.random() < 0.25 else 0.15))
            self._usage(account, declining)
            self._tickets(account, open_p1)
            if champion_left:
                index = champions[account.source_id]
                left = self.day(self.as_of - timedelta(days=80), self.as_of - timedelta(days=1))
                old = self.business.contacts[index]
                self.business.contacts[index] = Contact(
                    **{**old.__dict__, "left_at": left, "updated_at": max(old.updated_at, left)}
                )
            logit = -2.4 + 2.2 * declining + 0.9 * min(open_p1, 3) + 1.8 * champion_left
            probability = 1 / (1 + math.exp(-(logit + float(self.rng.normal(0, 0.4)))))
            churned = bool(self.rng.random() < probability)
            self.business.truth.churn[account.source_id] = ChurnTruth(
                account.source_id, probability, churned, declining, open_p1, champion_left
            )
        for n, account in enumerate(self.business.accounts):
            if self.business.truth.churn[account.source_id].churned:
                at = self.day(self.as_of + timedelta(days=1), NOW - timedelta(days=1))
                self.business.accounts[n] = Account(
                    **{**account.__dict__, "churned_at": at, "updated_at": max(account.updated_at, at)}
                )

    def _usage(self, account: Account, declining: bool) -> None:
        level = float(self.rng.uniform(20, 300))
        slope = float(self.rng.uniform(-0.09, -0.05)) if declining else float(self.rng.uniform(-0.01, 0.015))
        weeks = self.sizes.usage_weeks
        for w in range(weeks):
            week = (self.as_of - timedelta(weeks=weeks - w)).replace(hour=0, minute=0, second=0)
            mean = max(level * math.exp(slope * w), 0.5)
            logins = int(self.rng.poisson(mean))
            self.business.usage.append(
                _make(
                    UsageWeek,
                    f"{account.source_id}:w{w:02d}",
                    week + timedelta(days=7),
                    account_id=account.source_id,
                    week_start=week,
                    logins=logins,
                    active_users=max(1, logins // 4) if logins else 0,
                )
            )

    def _contact_of(self, account_id: str) -> Contact:
        people = [c for c in self.business.contacts if c.account_id == account_id]
        return people[int(self.rng.integers(len(people)))]

    def _tickets(self, account: Account, open_p1: int) -> None:
        """`open_p1` open P1 tickets at `as_of`, plus closed and lower-priority ones as background."""
        specs = [("P1", "open")] * open_p1 + [("P1", "closed")] * int(self.rng.integers(0, 2))
        specs += [
            (("P2", "P3")[int(self.rng.integers(2))], ("open", "closed")[int(self.rng.integers(2))])
            for _ in range(int(self.rng.integers(0, 3)))
        ]
        for priority, status in specs:
            self._activity(
                "ticket",
                account,
                priority=priority,
                status=status,
                window=(self.as_of - timedelta(days=100), self.as_of - timedelta(days=1)),
            )

    def _activity(
        self,
        kind: str,
        account: Account,
        *,
        priority: str | None = None,
        status: str | None = None,
        window: tuple[datetime, datetime] | None = None,
    ) -> None:
        n = len(self.business.activities) + 1
        contact = self._contact_of(account.source_id)
        start, end = window or (account.created_at or NOW - timedelta(days=700), NOW - timedelta(hours=2))
        at = self.day(start, end)
        deals = [d for d in self.business.deals if d.account_id == account.source_id]
        deal = deals[int(self.rng.integers(len(deals)))].source_id if deals and kind != "ticket" else None
        topic = _WORDS[int(self.rng.integers(len(_WORDS)))]
        self.business.activities.append(
            _make(
                Activity,
                f"act-{n:05d}",
                at + timedelta(hours=1),
                kind=kind,
                occurred_at=at,
                subject=f"{kind.title()} about {topic}",
                body=f"{kind.title()} with {contact.name} about {topic}.",
                account_id=account.source_id,
                contact_id=contact.source_id,
                deal_id=deal,
                owner_id=account.owner_id,
                priority=priority,
                status=status,
                emails=[contact.email or ""],
            )
        )

    def activities(self) -> None:
        kinds = ("note", "email", "meeting", "task")
        accounts = self.business.accounts
        while len(self.business.activities) < self.sizes.activities:
            account = accounts[int(self.rng.integers(len(accounts)))]
            kind = kinds[int(self.rng.choice(4, p=[0.3, 0.4, 0.2, 0.1]))]
            self._activity(kind, account, status="completed" if kind == "task" else None)

    def calls(self) -> None:
        per_rep: dict[str, list[CallTruth]] = defaultdict(list)
        for i in range(self.sizes.calls):
            rep = self.business.reps[i % len(self.business.reps)]
            truth = self._call(i, rep)
            per_rep[rep.source_id].append(truth)
        for rep_id, planted in list(self.business.truth.reps.items()):
            calls = per_rep.get(rep_id, [])
            rep_ms = sum(c.rep_talk_ms for c in calls)
            all_ms = rep_ms + sum(c.customer_talk_ms for c in calls)
            self.business.truth.reps[rep_id] = RepTruth(
                rep_id,
                planted.planted_talk_ratio,
                planted.planted_question_rate,
                planted.planted_monologue_sentences,
                len(calls),
                rep_ms / all_ms if all_ms else 0.0,
                sum(c.questions for c in calls) / len(calls) if calls else 0.0,
                sum(c.longest_monologue_ms for c in calls) / len(calls) if calls else 0.0,
            )

    def _call(self, i: int, rep: Rep) -> CallTruth:
        call_id = f"call-{i + 1:05d}"
        planted = self.business.truth.reps[rep.source_id]
        account = self.business.accounts[int(self.rng.integers(len(self.business.accounts)))]
        people = [self._contact_of(account.source_id) for _ in range(int(self.rng.integers(1, 3)))]
        parties = [{"speaker_id": f"{call_id}-s0", "name": rep.name, "email": rep.email, "role": "rep"}]
        parties += [
            {"speaker_id": f"{call_id}-s{n + 1}", "name": p.name, "email": p.email, "role": "customer"}
            for n, p in enumerate({p.source_id: p for p in people}.values())
        ]
        started = self.day(NOW - timedelta(days=30 * min(self.sizes.months, 12)), NOW - timedelta(hours=3))
        sentences = self._transcript(call_id, planted, parties)
        self.business.sentences.extend(sentences)
        duration = (sentences[-1].end_ms + 1000) / 1000
        truth = call_metrics(rep.source_id, sentences)
        self.business.truth.calls[call_id] = truth
        self.business.calls.append(
            _make(
                Call,
                call_id,
                started + timedelta(seconds=duration + 600),
                title=f"{account.name} / {rep.name}",
                started_at=started,
                duration_s=duration,
                owner_id=rep.source_id,
                participants=parties,
            )
        )
        return truth

    def _transcript(
        self, call_id: str, planted: RepTruth, parties: list[dict[str, object]]
    ) -> list[CallSentence]:
        rep_mean = planted.planted_monologue_sentences
        customer_mean = rep_mean * (1 - planted.planted_talk_ratio) / planted.planted_talk_ratio
        out: list[CallSentence] = []
        clock, turn = int(self.rng.integers(500, 3000)), 0
        while len(out) < 30 or turn % 2:
            rep_turn = turn % 2 == 0
            mean = rep_mean if rep_turn else customer_mean
            speaker = parties[0] if rep_turn else parties[1 + int(self.rng.integers(len(parties) - 1))]
            for _ in range(1 + int(self.rng.poisson(max(mean - 1, 0.05)))):
                length = int(self.rng.integers(2000, 7000))
                asks = self.rng.random() < (planted.planted_question_rate if rep_turn else 0.1)
                topic = _WORDS[int(self.rng.integers(len(_WORDS)))]
                text = f"What about the {topic}?" if asks else f"Let us talk about the {topic}."
                out.append(
                    _make(
                        CallSentence,
                        f"{call_id}:{len(out)}",
                        NOW,
                        call_id=call_id,
                        position=len(out),
                        speaker_id=str(speaker["speaker_id"]),
                        speaker_role=str(speaker["role"]),
                        start_ms=clock,
                        end_ms=clock + length,
                        text=text,
                    )
                )
                clock += length + int(self.rng.integers(100, 900))
            turn += 1
            if len(out) >= 60:
                break
        return out


def generate(seed: int, size: str | Sizes = "full") -> Business:
    """A business drawn from `seed`; "full" is the issue's size (200 accounts, 900 calls, ...), "small" for quick
    tests; a `Sizes` for anything else."""
    sizes = SIZES[size] if isinstance(size, str) else size
    builder = _Builder(seed, sizes)
    builder.reps()
    builder.accounts()
    builder.contacts()
    builder.stages()
    builder.deals()
    builder.churn()
    builder.activities()
    builder.calls()
    return builder.business
