"""A sequential test for experiments: the mixture SPRT (mSPRT) on the difference of two arms' mean outcome.

After each outcome the statistic may be looked at without inflating the false-positive rate (Johari, Pekelis and
Walsh, "Always valid inference", 2017): with a normal mixture N(0, tau^2) over the difference,

    Lambda_n = sqrt(V / (V + tau^2)) * exp(tau^2 * d^2 / (2 V (V + tau^2))),  V = s_a^2 / n_a + s_b^2 / n_b,

and the null (no difference) is rejected the first time Lambda_n >= 1 / alpha. Variances are the arms' sample
variances with a floor, and nothing is decided before `min_samples` outcomes per arm, so an early run of luck with a
near-zero variance cannot stop the test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

TAU = 0.1  # the mixture's spread: effects of about 0.1 on a 0..1 score are what the test is tuned to find
MIN_SAMPLES = 30
VARIANCE_FLOOR = 0.01


@dataclass(slots=True)
class ArmStats:
    """Running sums of one arm's outcome scores."""

    n: int = 0
    total: float = 0.0
    squares: float = 0.0

    def add(self, score: float) -> None:
        self.n += 1
        self.total += score
        self.squares += score * score

    @property
    def mean(self) -> float:
        return self.total / self.n if self.n else 0.0

    @property
    def variance(self) -> float:
        if self.n < 2:
            return 0.25
        return max((self.squares - self.n * self.mean**2) / (self.n - 1), VARIANCE_FLOOR)

    def to_dict(self) -> dict[str, float | int]:
        return {"n": self.n, "mean": round(self.mean, 6)}


@dataclass(frozen=True, slots=True)
class Verdict:
    """`better` beats `worse` when `significant`; `statistic` is Lambda against `threshold` = 1 / alpha."""

    better: str
    worse: str
    statistic: float
    threshold: float
    significant: bool


def msprt(a: ArmStats, b: ArmStats, *, tau: float = TAU) -> float:
    """Lambda for the difference b - a (a likelihood ratio, >= 0)."""
    v = a.variance / a.n + b.variance / b.n
    t2 = tau * tau
    d = b.mean - a.mean
    exponent = t2 * d * d / (2 * v * (v + t2))
    return math.sqrt(v / (v + t2)) * math.exp(min(exponent, 700.0))


def compare(
    arms: dict[str, ArmStats], *, alpha: float, min_samples: int = MIN_SAMPLES, tau: float = TAU
) -> Verdict | None:
    """The best arm against each other one; significant only when it beats every one. None before enough data."""
    if len(arms) < 2 or any(s.n < min_samples for s in arms.values()):
        return None
    ordered = sorted(arms.items(), key=lambda item: item[1].mean, reverse=True)
    best_name, best = ordered[0]
    threshold = 1.0 / alpha
    weakest = min(((name, msprt(stats, best, tau=tau)) for name, stats in ordered[1:]), key=lambda x: x[1])
    return Verdict(best_name, weakest[0], weakest[1], threshold, weakest[1] >= threshold)


__all__ = ["MIN_SAMPLES", "TAU", "ArmStats", "Verdict", "compare", "msprt"]
