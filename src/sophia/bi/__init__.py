"""Business intelligence over the unified business tables: the sales coach (per-call and per-rep conversation
metrics against the team baseline), with churn, forecast and the question-answering orchestrator to come."""

from sophia.bi._coach import (
    CallMetrics,
    CoachPhrases,
    Quote,
    RepMetrics,
    TeamCoach,
    call_metrics,
    coach,
)
from sophia.bi._load import load_coach

__all__ = [
    "CallMetrics",
    "CoachPhrases",
    "Quote",
    "RepMetrics",
    "TeamCoach",
    "call_metrics",
    "coach",
    "load_coach",
]
