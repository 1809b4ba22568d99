"""Leave-one-conversation-out cross-validation of recall weights, for `bench/memory.py --cv`.

Each question's reads (keyword and vector candidates, rows, neighbouring turns) are gathered once through the
real `MemoryService.gather`; every weight setting then re-ranks them with the service's own `rank_gathered`, so a
setting costs only the ranking. For each held-out conversation the weights are chosen by coordinate ascent on the
other conversations' questions and scored on the held-out ones: the pooled held-out score is the figure to expect
on conversations the weights never saw.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from sophia.memory import Gathered, MemorySettings, rank_gathered

KS = (1, 5, 10, 20)
GRID: dict[str, tuple[float, ...]] = {
    "rrf_k": (5.0, 10.0, 20.0, 60.0),
    "vector_weight": (0.5, 0.75, 1.0, 1.5, 2.0),
    "neighbour_weight": (0.0, 0.25, 0.5, 0.75),
    "speaker_boost": (0.0, 0.15, 0.3, 0.6),
    "temporal_boost": (0.0, 0.25, 0.5, 1.0),
    "date_boost": (0.0, 0.25, 0.5, 1.0, 2.0),
    "session_weight": (0.0, 0.05, 0.1, 0.2),
    "cosine_weight": (0.0, 0.1, 0.25, 0.5, 1.0),
    "coverage_weight": (0.0, 0.1, 0.25, 0.5, 1.0),
}


@dataclass(frozen=True)
class Item:
    """One question with its reads: which conversation it is from, its evidence, and what recall gathered."""

    conversation: int
    query: str
    evidence: frozenset[str]
    gathered: Gathered


Scores = npt.NDArray[np.float64]  # (questions, len(KS)) recall at each k


class Evaluator:
    """Recall of every question under a setting, memoised (folds and stages share most settings)."""

    def __init__(self, items: Sequence[Item], dia_of: Mapping[str, str], now: datetime) -> None:
        self.items, self.dia_of, self.now = items, dia_of, now
        self._memo: dict[tuple[Any, ...], Scores] = {}

    def scores(self, settings: MemorySettings) -> Scores:
        key = tuple(sorted(vars(settings).items()))
        if key not in self._memo:
            out = np.zeros((len(self.items), len(KS)))
            for row, item in enumerate(self.items):
                hits = rank_gathered(item.gathered, item.query, settings, self.now)[: max(KS)]
                found = [self.dia_of.get(h.memory.id) for h in hits]
                for col, k in enumerate(KS):
                    out[row, col] = len(item.evidence & set(found[:k])) / len(item.evidence)
            self._memo[key] = out
        return self._memo[key]


def choose(
    evaluate: Callable[[MemorySettings], float], start: MemorySettings, tuned: Sequence[str], sweeps: int = 2
) -> MemorySettings:
    """Coordinate ascent over the grid of each tuned weight; ties keep the current value."""
    best, best_score = start, evaluate(start)
    for _ in range(sweeps):
        moved = False
        for name in tuned:
            for value in GRID[name]:
                trial = replace(best, **{name: value})
                score = evaluate(trial)
                if score > best_score + 1e-9:
                    best, best_score, moved = trial, score, True
        if not moved:
            break
    return best


@dataclass(frozen=True)
class FoldResult:
    pooled: Scores  # held-out recall at each k over all questions, each scored with its fold's weights
    per_fold: list[float]  # held-out recall@10 of each conversation
    chosen: list[MemorySettings]


def cross_validate(evaluator: Evaluator, start: MemorySettings, tuned: Sequence[str]) -> FoldResult:
    conversations = np.array([item.conversation for item in evaluator.items])
    pooled = np.zeros((len(evaluator.items), len(KS)))
    per_fold: list[float] = []
    chosen: list[MemorySettings] = []
    at10 = KS.index(10)
    for held_out in sorted(set(conversations.tolist())):
        train = conversations != held_out

        def train_score(settings: MemorySettings, train: npt.NDArray[np.bool_] = train) -> float:
            return float(evaluator.scores(settings)[train, at10].mean())

        settings = choose(train_score, start, tuned) if tuned else start
        chosen.append(settings)
        scores = evaluator.scores(settings)
        pooled[~train] = scores[~train]
        per_fold.append(float(scores[~train, at10].mean()))
    return FoldResult(pooled.mean(axis=0), per_fold, chosen)


def median_setting(
    chosen: Sequence[MemorySettings], start: MemorySettings, tuned: Sequence[str]
) -> MemorySettings:
    """Each weight at the median of the folds' choices: the defaults to ship, picked without the full-set score."""
    return replace(start, **{name: statistics.median(getattr(s, name) for s in chosen) for name in tuned})


def spread(per_fold: Sequence[float]) -> str:
    return (
        f"folds {' '.join(f'{x:.3f}' for x in per_fold)}  "
        f"(min {min(per_fold):.3f}, max {max(per_fold):.3f}, sd {statistics.pstdev(per_fold):.3f})"
    )
