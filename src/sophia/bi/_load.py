"""Reading the unified business tables for the analyses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sophia.bi._churn import ChurnModel, Health, churn_features
from sophia.bi._coach import CoachPhrases, TeamCoach, coach
from sophia.bi._forecast import (
    backtest,
    forecast_bookings,
    monthly_bookings,
    pipeline_forecast,
    stage_probabilities,
)
from sophia.business import BusinessStore, Row

__all__ = [
    "CHURN_KINDS",
    "FORECAST_KINDS",
    "account_health",
    "forecast_of",
    "health_of",
    "churn_model_path",
    "load_churn_frames",
    "load_coach",
    "load_forecast",
]


async def load_coach(
    store: BusinessStore, *, source: str | Sequence[str] | None = None, phrases: CoachPhrases | None = None
) -> TeamCoach:
    """The coach over every live call of `source` (every source when None)."""
    frames = await store.frames(source=source, kinds=("reps", "calls", "call_sentences"))
    return coach(frames["calls"], frames["call_sentences"], frames["reps"], phrases)


CHURN_KINDS = ("accounts", "contacts", "deals", "activities", "usage_weeks")


def churn_model_path(home: Path) -> Path:
    """Where `sophia bi train churn` keeps the model: SOPHIA_HOME/bi/churn.json."""
    return home / "bi" / "churn.json"


async def load_churn_frames(
    store: BusinessStore, *, source: str | Sequence[str] | None = None
) -> dict[str, list[Row]]:
    return await store.frames(source=source, kinds=CHURN_KINDS)


async def account_health(
    store: BusinessStore, model: ChurnModel, as_of: datetime, *, source: str | Sequence[str] | None = None
) -> list[Health]:
    """Every live account's health as of `as_of`, riskiest first."""
    return health_of(await load_churn_frames(store, source=source), model, as_of)


def health_of(frames: Mapping[str, Sequence[Row]], model: ChurnModel, as_of: datetime) -> list[Health]:
    """`account_health` over frames already read."""
    features = churn_features(frames, as_of)
    scored = [model.health(account_id, values) for account_id, values in features.items()]
    return sorted(scored, key=lambda h: (-h.churn_probability, h.account_id))


async def load_forecast(
    store: BusinessStore,
    *,
    horizon: int = 6,
    until: datetime | None = None,
    source: str | Sequence[str] | None = None,
) -> dict[str, Any]:
    """Stage probabilities, the weighted open pipeline, the bookings history, its ETS forecast and backtest."""
    frames = await store.frames(source=source, kinds=FORECAST_KINDS)
    return forecast_of(frames, horizon=horizon, until=until)


FORECAST_KINDS = ("deals", "deal_stages")


def forecast_of(
    frames: Mapping[str, Sequence[Row]], *, horizon: int = 6, until: datetime | None = None
) -> dict[str, Any]:
    """`load_forecast`'s computation over frames already read (CPU-bound: the ETS fits)."""
    stages = stage_probabilities(frames["deals"], frames["deal_stages"])
    history = monthly_bookings(frames["deals"], until=until or datetime.now(UTC))
    return {
        "stages": {
            s.stage: {"label": s.label, "reached": s.reached, "won": s.won, "probability": s.probability}
            for s in stages.values()
        },
        "pipeline": pipeline_forecast(frames["deals"], stages).json(),
        "history": history,
        "bookings": forecast_bookings(history, horizon).json(),
        "backtest": backtest(history),
    }
