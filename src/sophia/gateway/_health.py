"""Live health per deployment: exponentially weighted averages that routing reads and a restart keeps."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

ALPHA = 0.2
"""Weight of the newest observation: about the last ten requests dominate."""


@dataclass(slots=True)
class DeploymentHealth:
    deployment: str
    latency_ms: float | None = None
    ttft_ms: float | None = None
    error_rate: float = 0.0
    cost_usd: float | None = None
    requests: int = 0
    failures: int = 0
    updated_at: float = 0.0

    def observe_success(self, latency_ms: float, ttft_ms: float | None, cost_usd: float) -> None:
        self.latency_ms = _ewma(self.latency_ms, latency_ms)
        if ttft_ms is not None:
            self.ttft_ms = _ewma(self.ttft_ms, ttft_ms)
        self.cost_usd = _ewma(self.cost_usd, cost_usd)
        self.error_rate = (1 - ALPHA) * self.error_rate
        self.requests += 1
        self.updated_at = time.time()

    def observe_failure(self) -> None:
        self.error_rate = (1 - ALPHA) * self.error_rate + ALPHA
        self.requests += 1
        self.failures += 1
        self.updated_at = time.time()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _ewma(previous: float | None, value: float) -> float:
    return value if previous is None else (1 - ALPHA) * previous + ALPHA * value


class HealthBoard:
    """Health of every deployment seen by this process (loaded from the database at start)."""

    def __init__(self) -> None:
        self._by_name: dict[str, DeploymentHealth] = {}
        self.dirty: set[str] = set()

    def get(self, deployment: str) -> DeploymentHealth:
        health = self._by_name.get(deployment)
        if health is None:
            health = DeploymentHealth(deployment)
            self._by_name[deployment] = health
        return health

    def load(self, rows: list[DeploymentHealth]) -> None:
        for row in rows:
            self._by_name[row.deployment] = row

    def success(self, deployment: str, latency_ms: float, ttft_ms: float | None, cost_usd: float) -> None:
        self.get(deployment).observe_success(latency_ms, ttft_ms, cost_usd)
        self.dirty.add(deployment)

    def failure(self, deployment: str) -> None:
        self.get(deployment).observe_failure()
        self.dirty.add(deployment)

    def all(self) -> list[DeploymentHealth]:
        return list(self._by_name.values())

    def take_dirty(self) -> list[DeploymentHealth]:
        rows = [self._by_name[name] for name in self.dirty]
        self.dirty = set()
        return rows
