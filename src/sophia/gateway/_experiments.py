"""Experiments: a share of a task's traffic split between variants by a stable hash; a sequential test promotes.

A variant (`_variants.Variant`) sets the model that answers first, a prompt template, the temperature or the chat
agent's memory recall. Assignment hashes the experiment's name with the user (or the conversation,
`metadata.conversation_id`), so a user keeps their variant. Outcomes (`Gateway.record_outcome`) of requests
served by a variant feed the test; when the best variant is significantly better than every other it is promoted
(the task's requests get its settings from then on: its model first, its prompt and temperature) and the evidence
is stored with the experiment; at `max_samples` per variant without a difference the experiment ends
inconclusive and nothing changes.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from sophia.config import TASKS
from sophia.errors import Conflict, InvalidInput, NotFound
from sophia.gateway._budgets import Caller
from sophia.gateway._catalog import Catalog
from sophia.gateway._router import RoutePlan
from sophia.gateway._sequential import ArmStats, compare
from sophia.gateway._tables import ExperimentRow, ModelOutcomeRow, UsageRequestRow
from sophia.gateway._variants import Variant
from sophia.store import Database, utcnow

log = logging.getLogger("sophia.gateway.experiments")

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,59}$")
_REFRESH_SECONDS = 10.0
RUNNING, PROMOTED, INCONCLUSIVE, STOPPED = "running", "promoted", "inconclusive", "stopped"


@dataclass(slots=True)
class Experiment:
    name: str
    task: str
    variants: list[Variant]
    share: float
    alpha: float
    max_samples: int
    split: str = "user"
    status: str = RUNNING
    winner: str | None = None
    evidence: dict[str, Any] | None = None
    created_at: datetime = field(default_factory=utcnow)
    decided_at: datetime | None = None
    arms: dict[str, ArmStats] = field(default_factory=dict)

    def variant(self, name: str) -> Variant | None:
        return next((v for v in self.variants if v.name == name), None)

    def assign(self, subject: str) -> Variant | None:
        """The variant for `subject` (a user or conversation id), None when it is outside the experiment's share."""
        digest = hashlib.sha256(f"{self.name}\0{subject}".encode()).digest()
        if int.from_bytes(digest[:8], "big") / 2**64 >= self.share:
            return None
        return self.variants[int.from_bytes(digest[8:16], "big") % len(self.variants)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "task": self.task,
            "variants": [str(v) for v in self.variants],
            "share": self.share,
            "alpha": self.alpha,
            "max_samples": self.max_samples,
            "split": self.split,
            "status": self.status,
            "winner": self.winner,
            "evidence": self.evidence,
            "arms": {name: stats.to_dict() for name, stats in self.arms.items()},
            "created_at": self.created_at.isoformat(),
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
        }


def _from_row(row: ExperimentRow) -> Experiment:
    spec = row.variants
    variants = [Variant.parse(text) for text in spec.get("arms", [])]
    experiment = Experiment(
        row.name, row.task, variants, row.share, row.alpha, row.max_samples, spec.get("split", "user"),
        row.status, row.winner, row.evidence, row.created_at, row.decided_at,
    )  # fmt: skip
    experiment.arms = {v.name: ArmStats() for v in variants}
    return experiment


@dataclass(frozen=True, slots=True)
class Steering:
    """What an experiment does to one request: the plan to try, the ledger label, the variant's settings."""

    plan: RoutePlan
    label: str | None
    variant: Variant | None


class ExperimentBook:
    """Experiments in memory (re-read from the database every few seconds, so the CLI's changes reach servers).

    `prompts` are the templates a variant's `prompt:NAME` may name (`[learning.prompts]`); with `check_prompts`
    (what the CLI passes) an unknown name is refused when the experiment is created.
    """

    def __init__(
        self, database: Database, *, prompts: Mapping[str, str] | None = None, check_prompts: bool = False
    ) -> None:
        self._database = database
        self.prompts: Mapping[str, str] = dict(prompts or {})
        self._check_prompts = check_prompts
        self.running: dict[str, Experiment] = {}  # by task: at most one running experiment per task
        self.promoted: dict[str, Variant] = {}  # task -> the variant a finished experiment promoted
        self._refresh_at = 0.0
        self._refreshing: asyncio.Task[None] | None = None

    # -- on the request path ---------------------------------------------------------------------------------

    def steer(self, plan: RoutePlan, body: Mapping[str, Any], caller: Caller, catalog: Catalog) -> Steering:
        """A running experiment's variant (or a promoted winner) applies: its model answers first, the plan's
        fallbacks after it; the label (`experiment:variant`) goes on the ledger row."""
        variant, label = self.variant_for(plan.task, body, caller)
        entry = catalog.get(variant.model) if variant is not None and variant.model else None
        if entry is not None:
            plan = RoutePlan(
                plan.task, (entry, *(c for c in plan.candidates if c is not entry)), plan.requested
            )
        return Steering(plan, label, variant)

    def variant_for(
        self, task: str | None, body: Mapping[str, Any], caller: Caller
    ) -> tuple[Variant | None, str | None]:
        """The variant that applies to a request for `task` from `caller`, with its ledger label (None when it is
        the promoted winner's, which no experiment counts any more)."""
        if task is None:
            return None, None
        if self.stale() and (self._refreshing is None or self._refreshing.done()):
            self._refreshing = asyncio.create_task(self._refresh(), name="experiments-refresh")
        running = self.running.get(task)
        subject = caller.user_id or caller.api_key_id
        if running is not None and running.split == "conversation":
            metadata = body.get("metadata")
            conversation = metadata.get("conversation_id") if isinstance(metadata, dict) else None
            subject = str(conversation) if conversation else subject
        routed = self.route(task, subject)
        if routed is not None:
            return routed[1], f"{routed[0].name}:{routed[1].name}"
        return self.promoted.get(task), None

    async def _refresh(self) -> None:
        try:
            await self.load()
        except Exception:
            log.warning(
                "experiments: could not re-read them; routing keeps the last known ones", exc_info=True
            )

    def route(self, task: str | None, subject: str | None) -> tuple[Experiment, Variant] | None:
        if task is None or subject is None:
            return None
        experiment = self.running.get(task)
        if experiment is None:
            return None
        variant = experiment.assign(subject)
        return (experiment, variant) if variant is not None else None

    def stale(self) -> bool:
        return time.monotonic() >= self._refresh_at

    # -- administration --------------------------------------------------------------------------------------

    async def create(
        self,
        name: str,
        task: str,
        variants: list[str],
        *,
        share: float = 1.0,
        alpha: float = 0.05,
        max_samples: int = 1000,
        split: str = "user",
    ) -> Experiment:
        if not _NAME.match(name):
            raise InvalidInput("name: letters, digits, '.', '_' or '-', at most 60")
        if task not in TASKS:
            raise InvalidInput(f"task: one of {', '.join(TASKS)}")
        parsed = [Variant.parse(text) for text in variants]
        if self._check_prompts:
            for variant in parsed:
                variant.check_prompts(self.prompts)
        if len(parsed) < 2 or len({v.name for v in parsed}) != len(parsed):
            raise InvalidInput("variant: give at least two, with different names")
        if (
            not 0 < share <= 1
            or not 0 < alpha < 0.5
            or max_samples < 30
            or split not in ("user", "conversation")
        ):
            raise InvalidInput(
                "share in (0, 1], alpha in (0, 0.5), max_samples >= 30, split user|conversation"
            )
        await self.load()
        if task in self.running:
            raise Conflict(f'task "{task}" already has a running experiment, "{self.running[task].name}"')
        experiment = Experiment(name, task, parsed, share, alpha, max_samples, split)
        row = ExperimentRow(
            name=name, task=task, variants={"arms": [str(v) for v in parsed], "split": split}, share=share,
            alpha=alpha, max_samples=max_samples, status=RUNNING, created_at=experiment.created_at,
        )  # fmt: skip
        try:
            async with self._database.session() as session, session.begin():
                session.add(row)
        except sa.exc.IntegrityError:
            raise Conflict(f'an experiment named "{name}" exists already') from None
        experiment.arms = {v.name: ArmStats() for v in parsed}
        self.running[task] = experiment
        return experiment

    async def stop(self, name: str) -> Experiment:
        experiment = await self.get(name)
        if experiment.status == RUNNING:
            await self._decide(experiment, STOPPED, None, experiment.evidence)
        return experiment

    async def get(self, name: str) -> Experiment:
        for experiment in await self.all():
            if experiment.name == name:
                return experiment
        raise NotFound(f'no experiment named "{name}"; see `sophia experiments list`')

    async def all(self) -> list[Experiment]:
        async with self._database.session() as session:
            rows = (await session.scalars(sa.select(ExperimentRow).order_by(ExperimentRow.id))).all()
        experiments = [_from_row(row) for row in rows]
        for experiment in experiments:
            await self._count(experiment)
        return experiments

    async def load(self) -> None:
        """Running experiments with their outcome counts, and the latest promotion per task."""
        self._refresh_at = time.monotonic() + _REFRESH_SECONDS
        async with self._database.session() as session:
            rows = (await session.scalars(sa.select(ExperimentRow).order_by(ExperimentRow.id))).all()
        running: dict[str, Experiment] = {}
        promoted: dict[str, Variant] = {}
        for row in rows:
            experiment = _from_row(row)
            if experiment.status == RUNNING:
                known = self.running.get(experiment.task)
                if known is not None and known.name == experiment.name:
                    running[experiment.task] = known  # keep the live counts
                else:
                    await self._count(experiment)
                    running[experiment.task] = experiment
            elif experiment.status == PROMOTED and experiment.winner:
                variant = experiment.variant(experiment.winner)
                if variant is not None:
                    promoted[experiment.task] = variant
        self.running, self.promoted = running, promoted

    async def _count(self, experiment: Experiment) -> None:
        """Outcomes of the requests each variant served, from the ledger joined with the outcomes."""
        requests, outcomes = UsageRequestRow.__table__, ModelOutcomeRow.__table__
        query = (
            sa.select(requests.c.variant, outcomes.c.score)
            .join(outcomes, outcomes.c.request_id == requests.c.id)
            .where(requests.c.variant.like(f"{experiment.name}:%"))
        )
        async with self._database.engine.connect() as connection:
            for label, score in (await connection.execute(query)).all():
                arm = experiment.arms.get(str(label).split(":", 1)[1])
                if arm is not None:
                    arm.add(float(score))

    async def curves(self, experiment: Experiment, points: int = 60) -> dict[str, list[tuple[int, float]]]:
        """Per variant, the running mean outcome after n outcomes (at most `points` samples): the dashboard's curves."""
        requests, outcomes = UsageRequestRow.__table__, ModelOutcomeRow.__table__
        query = (
            sa.select(requests.c.variant, outcomes.c.score)
            .join(outcomes, outcomes.c.request_id == requests.c.id)
            .where(requests.c.variant.like(f"{experiment.name}:%"))
            .order_by(outcomes.c.id)
        )
        async with self._database.engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        running: dict[str, ArmStats] = {v.name: ArmStats() for v in experiment.variants}
        series: dict[str, list[tuple[int, float]]] = {name: [] for name in running}
        for label, score in rows:
            arm = running.get(str(label).split(":", 1)[1])
            if arm is not None:
                arm.add(float(score))
        totals = {name: arm.n for name, arm in running.items()}
        running = {name: ArmStats() for name in running}
        for label, score in rows:
            name = str(label).split(":", 1)[1]
            arm = running.get(name)
            if arm is None:
                continue
            arm.add(float(score))
            step = max(1, totals[name] // points)
            if arm.n % step == 0 or arm.n == totals[name]:
                series[name].append((arm.n, arm.mean))
        return series

    async def costs(self, experiment: Experiment) -> dict[str, dict[str, float]]:
        """Requests and spend per variant, from the ledger."""
        table = UsageRequestRow.__table__
        query = (
            sa.select(table.c.variant, sa.func.count(), sa.func.coalesce(sa.func.sum(table.c.cost_usd), 0.0))
            .where(table.c.variant.like(f"{experiment.name}:%"))
            .group_by(table.c.variant)
        )
        async with self._database.engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return {str(r[0]).split(":", 1)[1]: {"requests": int(r[1]), "cost_usd": float(r[2])} for r in rows}

    # -- outcomes ---------------------------------------------------------------------------------------------

    async def observe(self, label: str | None, score: float) -> None:
        """An outcome of a request a variant served (`label` is `experiment:variant`, as the ledger stores it)."""
        if not label or ":" not in label:
            return
        name, arm_name = label.split(":", 1)
        experiment = next((e for e in self.running.values() if e.name == name), None)
        arm = experiment.arms.get(arm_name) if experiment is not None else None
        if experiment is None or arm is None:
            return
        arm.add(score)
        verdict = compare(experiment.arms, alpha=experiment.alpha)
        evidence: dict[str, Any] = {
            "arms": {n: s.to_dict() for n, s in experiment.arms.items()},
            "test": "mSPRT (normal mixture, tau 0.1) on the difference of mean outcome scores",
        }
        if verdict is not None:
            evidence |= {"statistic": verdict.statistic, "threshold": verdict.threshold, "vs": verdict.worse}
        if verdict is not None and verdict.significant:
            await self._decide(experiment, PROMOTED, verdict.better, evidence)
        elif all(s.n >= experiment.max_samples for s in experiment.arms.values()):
            await self._decide(experiment, INCONCLUSIVE, None, evidence)

    async def _decide(
        self, experiment: Experiment, status: str, winner: str | None, evidence: dict[str, Any] | None
    ) -> None:
        experiment.status, experiment.winner, experiment.evidence = status, winner, evidence
        experiment.decided_at = utcnow()
        async with self._database.session() as session, session.begin():
            await session.execute(
                sa.update(ExperimentRow)
                .where(ExperimentRow.name == experiment.name)
                .values(status=status, winner=winner, evidence=evidence, decided_at=experiment.decided_at)
            )
        if self.running.get(experiment.task) is experiment or status != RUNNING:
            self.running.pop(experiment.task, None)
        variant = experiment.variant(winner) if winner else None
        if status == PROMOTED and variant is not None:
            self.promoted[experiment.task] = variant
        log.info("experiment %s: %s%s", experiment.name, status, f" ({winner})" if winner else "")


__all__ = [
    "INCONCLUSIVE",
    "PROMOTED",
    "RUNNING",
    "STOPPED",
    "Experiment",
    "ExperimentBook",
    "Steering",
    "Variant",
]
