"""Forecast: stage probabilities learned from the deals' stage history (P(won | the deal reached the stage) over
closed deals), the weighted open pipeline, and an ETS model on monthly bookings with prediction intervals,
backtested against the seasonal-naive forecast (the same month a year before).
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from sophia.errors import SophiaError

__all__ = [
    "BookingsForecast",
    "ForecastError",
    "PipelineForecast",
    "Stage",
    "backtest",
    "forecast_bookings",
    "monthly_bookings",
    "pipeline_forecast",
    "stage_probabilities",
]

Row = Mapping[str, Any]
SEASON = 12


class ForecastError(SophiaError):
    """Too little history to forecast."""

    code = "forecast_error"
    http_status = 409  # the data cannot support it yet: not a server fault, not a bad request


def _aware(value: Any) -> datetime | None:
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Stage:
    stage: str
    label: str
    reached: int
    won: int

    @property
    def probability(self) -> float:
        return self.won / self.reached if self.reached else 0.0


def stage_probabilities(deals: Sequence[Row], stage_changes: Sequence[Row]) -> dict[str, Stage]:
    """Stage id → how many closed deals reached it and how many of those were won (terminal stages left out)."""
    closed = {str(d["source_id"]): bool(d.get("is_won")) for d in deals if d.get("is_closed")}
    reached: dict[str, set[str]] = defaultdict(set)
    labels: dict[str, str] = {}
    for change in stage_changes:
        deal = str(change["deal_id"])
        if deal in closed:
            reached[str(change["stage"])].add(deal)
            labels[str(change["stage"])] = str(change.get("stage_label") or change["stage"])
    terminal = {str(d["stage"]) for d in deals if d.get("is_closed")}
    return {
        stage: Stage(stage, labels[stage], len(ids), sum(closed[i] for i in ids))
        for stage, ids in sorted(reached.items())
        if stage not in terminal
    }


@dataclass(frozen=True)
class PipelineForecast:
    expected: float
    """Σ amount × P(won | current stage) over open deals."""
    open_deals: int
    by_stage: dict[str, dict[str, float]] = field(default_factory=dict)

    def json(self) -> dict[str, Any]:
        return {"expected": self.expected, "open_deals": self.open_deals, "by_stage": self.by_stage}


def pipeline_forecast(deals: Sequence[Row], stages: Mapping[str, Stage]) -> PipelineForecast:
    by_stage: dict[str, dict[str, float]] = {}
    total, count = 0.0, 0
    for deal in deals:
        if deal.get("is_closed"):
            continue
        stage = stages.get(str(deal.get("stage")))
        p = stage.probability if stage else 0.0
        amount = float(deal.get("amount") or 0.0)
        slot = by_stage.setdefault(
            stage.label if stage else str(deal.get("stage")),
            {"deals": 0.0, "amount": 0.0, "probability": p, "expected": 0.0},
        )
        slot["deals"] += 1
        slot["amount"] += amount
        slot["expected"] += amount * p
        total += amount * p
        count += 1
    return PipelineForecast(total, count, by_stage)


def monthly_bookings(deals: Sequence[Row], *, until: datetime | None = None) -> dict[str, float]:
    """ "YYYY-MM" → closed-won amount, every month from the first won deal to `until`'s month (0.0 for none);
    the month of `until` itself is left out as incomplete."""
    won = [(_aware(d.get("close_date")), float(d.get("amount") or 0.0)) for d in deals if d.get("is_won")]
    dated = [(at, amount) for at, amount in won if at is not None]
    if not dated:
        return {}
    end = until or max(at for at, _ in dated)
    totals: dict[str, float] = defaultdict(float)
    for at, amount in dated:
        if at < end.replace(day=1, hour=0, minute=0, second=0, microsecond=0):
            totals[at.strftime("%Y-%m")] += amount
    year, month = min(at for at, _ in dated).year, min(at for at, _ in dated).month
    out: dict[str, float] = {}
    while (year, month) < (end.year, end.month):
        key = f"{year:04d}-{month:02d}"
        out[key] = round(totals.get(key, 0.0), 2)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def _next_months(last: str, horizon: int) -> list[str]:
    year, month = int(last[:4]), int(last[5:7])
    out = []
    for _ in range(horizon):
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        out.append(f"{year:04d}-{month:02d}")
    return out


def _fit(values: np.ndarray, first: str = "2000-01") -> Any:
    import pandas as pd
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    seasonal = "mul" if values.min() > 0 else "add"
    series = pd.Series(values, index=pd.date_range(f"{first}-01", periods=len(values), freq="MS"))
    model = ETSModel(
        series, error="add", trend="add", damped_trend=True, seasonal=seasonal, seasonal_periods=SEASON
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(disp=False, maxiter=2000)


@dataclass(frozen=True)
class BookingsForecast:
    months: list[str]
    mean: list[float]
    lower: list[float]
    upper: list[float]
    level: float

    def json(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "points": [
                {"month": m, "mean": a, "lower": lo, "upper": hi}
                for m, a, lo, hi in zip(self.months, self.mean, self.lower, self.upper, strict=True)
            ],
        }


def forecast_bookings(history: Mapping[str, float], horizon: int = 6, level: float = 0.9) -> BookingsForecast:
    """ETS (additive error, damped additive trend, monthly seasonality) with `level` prediction intervals."""
    months = sorted(history)
    if len(months) < 2 * SEASON:
        raise ForecastError(f"bookings forecast needs {2 * SEASON} months of history, have {len(months)}")
    fitted = _fit(np.array([history[m] for m in months], dtype=float), months[0])
    frame = fitted.get_prediction(start=len(months), end=len(months) + horizon - 1).summary_frame(
        alpha=1 - level
    )
    return BookingsForecast(
        _next_months(months[-1], horizon),
        [float(v) for v in frame["mean"]],
        [float(v) for v in frame["pi_lower"]],
        [float(v) for v in frame["pi_upper"]],
        level,
    )


def _mape(actual: np.ndarray, predicted: np.ndarray) -> float:
    keep = actual != 0
    return float(np.mean(np.abs((actual[keep] - predicted[keep]) / actual[keep])))


def backtest(history: Mapping[str, float], holdout: int = 6) -> dict[str, float]:
    """Fit on all but the last `holdout` months, forecast them; MAPE of ETS and of seasonal naive."""
    months = sorted(history)
    values = np.array([history[m] for m in months], dtype=float)
    train, test = values[:-holdout], values[-holdout:]
    if len(train) < 2 * SEASON:
        raise ForecastError(f"a backtest needs {2 * SEASON + holdout} months of history, have {len(months)}")
    predicted = np.asarray(_fit(train).forecast(holdout), dtype=float)
    naive = np.array([values[len(train) + k - SEASON] for k in range(holdout)], dtype=float)
    return {
        "mape": _mape(test, predicted),
        "naive_mape": _mape(test, naive),
        "holdout_months": float(holdout),
    }
