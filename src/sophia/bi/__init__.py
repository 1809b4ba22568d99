"""Business intelligence over the unified business tables: the sales coach (per-call and per-rep conversation
metrics against the team baseline), churn risk and account health (a logistic model on unified-table
signals, saved as JSON), with forecast and the question-answering orchestrator to come."""

from sophia.bi._churn import (
    FEATURES,
    ChurnError,
    ChurnModel,
    Health,
    churn_features,
    churn_labels,
    train_churn,
)
from sophia.bi._coach import (
    CallMetrics,
    CoachPhrases,
    Quote,
    RepMetrics,
    TeamCoach,
    call_metrics,
    coach,
)
from sophia.bi._load import (
    CHURN_KINDS,
    account_health,
    churn_model_path,
    load_churn_frames,
    load_coach,
)

__all__ = [
    "CHURN_KINDS",
    "FEATURES",
    "CallMetrics",
    "ChurnError",
    "ChurnModel",
    "Health",
    "account_health",
    "churn_features",
    "churn_labels",
    "churn_model_path",
    "load_churn_frames",
    "train_churn",
    "CoachPhrases",
    "Quote",
    "RepMetrics",
    "TeamCoach",
    "call_metrics",
    "coach",
    "load_coach",
]
