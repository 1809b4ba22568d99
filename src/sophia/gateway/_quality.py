"""Routing that learns: a Beta posterior of answer quality per (task, model), fed by outcomes the system sees.

The catalog's static quality is the prior (worth `PRIOR_WEIGHT` observations); each outcome is a score in [0, 1]
that adds `score` successes and `1 - score` failures. Until a task has evidence the router uses the static
numbers unchanged, so routing stays deterministic; once it has, the `quality` and `balanced` policies draw from
each candidate's posterior (Thompson sampling), which moves traffic to the model the outcomes favour while still
trying the others now and then.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from sophia.gateway._tables import ModelOutcomeRow
from sophia.store import Database, utcnow

PRIOR_WEIGHT = 4.0
GENERAL_TASK = "general"  # requests that named a model rather than a task
OUTCOME_SOURCES = ("feedback", "run", "judge", "experiment")


@dataclass(slots=True)
class Evidence:
    """Sums of outcome scores for one (task, model): `wins` is the sum of scores, `count` how many there were."""

    wins: float = 0.0
    count: int = 0

    def add(self, score: float) -> None:
        self.wins += score
        self.count += 1


@dataclass(frozen=True, slots=True)
class Estimate:
    task: str
    model: str
    prior: float
    mean: float
    evidence: int
    alpha: float
    beta: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "model": self.model,
            "prior": round(self.prior, 6),
            "estimate": round(self.mean, 6),
            "evidence": self.evidence,
            "alpha": round(self.alpha, 6),
            "beta": round(self.beta, 6),
        }


def _bounded(prior: float) -> float:
    return min(max(prior, 0.01), 0.99)


class QualityBook:
    """Evidence per (task, model) in memory (loaded at start, written through on every outcome)."""

    def __init__(self, database: Database | None = None, *, rng: random.Random | None = None) -> None:
        self._database = database
        self._rng = rng or random.Random()
        self._evidence: dict[tuple[str, str], Evidence] = {}
        self._tasks_with_evidence: set[str] = set()

    async def load(self) -> None:
        if self._database is None:
            return
        table = ModelOutcomeRow.__table__
        query = sa.select(table.c.task, table.c.model, sa.func.sum(table.c.score), sa.func.count()).group_by(
            table.c.task, table.c.model
        )
        async with self._database.engine.connect() as connection:
            for task, model, wins, count in (await connection.execute(query)).all():
                self._evidence[(task, model)] = Evidence(float(wins or 0.0), int(count))
                self._tasks_with_evidence.add(task)

    def observe(self, task: str | None, model: str, score: float) -> None:
        task = task or GENERAL_TASK
        self._evidence.setdefault((task, model), Evidence()).add(score)
        self._tasks_with_evidence.add(task)

    async def record(
        self,
        *,
        task: str | None,
        model: str,
        score: float,
        source: str,
        request_id: str | None = None,
        user_id: str | None = None,
    ) -> None:
        """Store one outcome and learn from it; `score` is clamped to [0, 1]."""
        score = min(max(float(score), 0.0), 1.0)
        if self._database is not None:
            row = {
                "at": utcnow(),
                "request_id": request_id,
                "task": task or GENERAL_TASK,
                "model": model,
                "score": score,
                "source": source,
                "user_id": user_id,
            }
            async with self._database.engine.begin() as connection:
                await connection.execute(sa.insert(ModelOutcomeRow).values(row))
        self.observe(task, model, score)

    def learned(self, task: str) -> bool:
        return task in self._tasks_with_evidence

    def estimate(self, task: str, model: str, prior: float) -> Estimate:
        evidence = self._evidence.get((task, model), Evidence())
        p = _bounded(prior)
        alpha = p * PRIOR_WEIGHT + evidence.wins
        beta = (1 - p) * PRIOR_WEIGHT + (evidence.count - evidence.wins)
        return Estimate(task, model, prior, alpha / (alpha + beta), evidence.count, alpha, beta)

    def sample(self, task: str, model: str, prior: float) -> float:
        """A Thompson draw from the posterior; the prior itself while the task has no evidence at all."""
        if task not in self._tasks_with_evidence:
            return prior
        estimate = self.estimate(task, model, prior)
        return self._rng.betavariate(estimate.alpha, estimate.beta)

    def mean(self, task: str, model: str, prior: float) -> float:
        if task not in self._tasks_with_evidence:
            return prior
        return self.estimate(task, model, prior).mean

    def known(self) -> list[tuple[str, str]]:
        return sorted(self._evidence)


async def outcome_stats(database: Database) -> dict[tuple[str, str], Evidence]:
    """Evidence per (task, model) straight from the table (what `sophia models stats` shows)."""
    book = QualityBook(database)
    await book.load()
    return {key: book._evidence[key] for key in book.known()}


__all__ = [
    "GENERAL_TASK",
    "OUTCOME_SOURCES",
    "PRIOR_WEIGHT",
    "Estimate",
    "Evidence",
    "QualityBook",
    "outcome_stats",
]
