"""What an attempt and a request leave behind: ledger rows, breaker and health updates, the budget charge.

The gateway decides what to try; `Accounts` writes down how it went. Every answered, failed or interrupted
request goes through `succeeded` or `failed` exactly once, and every failed attempt through `attempt_failed`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sophia.errors import SophiaError
from sophia.gateway._breaker import BreakerBoard
from sophia.gateway._budgets import BudgetGuard
from sophia.gateway._catalog import ModelEntry
from sophia.gateway._errors import ProviderBadRequest, ProviderError
from sophia.gateway._health import HealthBoard
from sophia.gateway._ledger import AttemptRecord, RequestRecord, UsageLedger

JSONDict = dict[str, Any]


@dataclass(slots=True)
class Outcome:
    """What the caller needs besides the body: which model answered, at what cost, after how many attempts."""

    model: ModelEntry
    task: str | None
    cost_usd: float
    attempts: int
    input_tokens: int
    output_tokens: int
    cached: bool = False


def falls_back(error: ProviderError) -> bool:
    """A 400/422 is the request's fault and would fail everywhere; 404 means this deployment's model is wrong."""
    return not isinstance(error, ProviderBadRequest) or error.status == 404


def _usage(payload: JSONDict) -> tuple[int, int]:
    usage = payload.get("usage") or {}
    return int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)


def _reported_cost(payload: JSONDict) -> float | None:
    """`usage.cost` in USD: a number (OpenRouter) or `{"total_cost": …}` (Perplexity, search fees included)."""
    value = (payload.get("usage") or {}).get("cost")
    if isinstance(value, dict):
        value = value.get("total_cost")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        return None
    return float(value)


class Accounts:
    def __init__(
        self,
        ledger: UsageLedger,
        budgets: BudgetGuard,
        health: HealthBoard,
        breakers: BreakerBoard,
        cost_reporters: Iterable[str] = (),
    ) -> None:
        self.ledger = ledger
        self.budgets = budgets
        self.health = health
        self.breakers = breakers
        # Providers whose `usage.cost` is what the request cost in USD (OpenRouter's usage accounting).
        self.cost_reporters = frozenset(cost_reporters)

    def attempt_failed(
        self,
        record: RequestRecord,
        entry: ModelEntry,
        error: ProviderError,
        t0: float,
        partial_chars: int = 0,
    ) -> None:
        latency = (time.perf_counter() - t0) * 1000
        output_tokens = partial_chars // 4
        record.attempts.append(
            AttemptRecord(
                number=len(record.attempts) + 1,
                model=entry.name,
                provider=entry.provider,
                status="error",
                http_status=error.status,
                error_code=error.code,
                output_tokens=output_tokens,
                cost_usd=entry.cost(0, output_tokens),
                latency_ms=latency,
            )
        )
        if falls_back(error):
            self.breakers.get(entry.name).record_failure()
            self.health.failure(entry.name)
        else:
            self.breakers.get(entry.name).release_probe()

    def succeeded(
        self,
        record: RequestRecord,
        entry: ModelEntry,
        task: str | None,
        payload: JSONDict,
        t0: float,
        started: float,
        ttft_ms: float | None,
        streamed_chars: int | None = None,
    ) -> Outcome:
        now = time.perf_counter()
        input_tokens, output_tokens = _usage(payload)
        if not output_tokens and streamed_chars:
            output_tokens = max(1, streamed_chars // 4)  # estimate when the upstream sent no usage
        reported = _reported_cost(payload) if entry.provider in self.cost_reporters else None
        cost = entry.cost(input_tokens, output_tokens) if reported is None else reported
        latency = (now - t0) * 1000
        record.attempts.append(
            AttemptRecord(
                number=len(record.attempts) + 1,
                model=entry.name,
                provider=entry.provider,
                status=record.status,
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                cost_usd=cost,
                latency_ms=latency,
                ttft_ms=ttft_ms,
            )
        )
        record.model, record.provider = entry.name, entry.provider
        record.input_tokens, record.output_tokens, record.cost_usd = input_tokens, output_tokens, cost
        record.latency_ms, record.ttft_ms = (now - started) * 1000, ttft_ms
        self.breakers.get(entry.name).record_success()
        self.health.success(entry.name, latency, ttft_ms, cost)
        self.ledger.record(record)
        self.budgets.charge(record.admission, cost)
        return Outcome(entry, task, cost, len(record.attempts), input_tokens, output_tokens)

    def failed(
        self, record: RequestRecord, error: SophiaError, started: float, stream_partial: bool = False
    ) -> None:
        record.status = "interrupted" if stream_partial else "error"
        record.error_code = error.code
        record.latency_ms = (time.perf_counter() - started) * 1000
        record.cost_usd = sum(a.cost_usd for a in record.attempts)
        record.output_tokens = sum(a.output_tokens for a in record.attempts)
        self.ledger.record(record)
        self.budgets.charge(record.admission, record.cost_usd)


__all__ = ["Accounts", "Outcome", "falls_back"]
