"""Business intelligence over the unified business tables: the sales coach (per-call and per-rep conversation
metrics against the team baseline), churn risk and account health (a logistic model on unified-table
signals, saved as JSON), the pipeline and bookings forecast (stage probabilities from deal history, ETS with
intervals, backtested against seasonal naive), the question-answering orchestrator, and scheduled reports
delivered to Slack and Telegram."""

from sophia.bi._ask import (
    CANNOT_ANSWER,
    Answer,
    UnsafeQuery,
    ask,
    check_select,
    gateway_model,
    run_select,
    untraceable_numbers,
)
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
from sophia.bi._forecast import (
    BookingsForecast,
    ForecastError,
    PipelineForecast,
    Stage,
    backtest,
    forecast_bookings,
    monthly_bookings,
    pipeline_forecast,
    stage_probabilities,
)
from sophia.bi._load import (
    CHURN_KINDS,
    account_health,
    churn_model_path,
    load_churn_frames,
    load_coach,
    load_forecast,
)
from sophia.bi._report_render import RenderedReport, png_of, render_report
from sophia.bi._report_rows import BiReportRow
from sophia.bi._report_schedule import ReportSchedule
from sophia.bi._reports import MAX_ATTEMPTS, ReportNotFound, ReportRecord, Reports, period_start

__all__ = [
    "MAX_ATTEMPTS",
    "BiReportRow",
    "RenderedReport",
    "ReportNotFound",
    "ReportRecord",
    "ReportSchedule",
    "Reports",
    "period_start",
    "png_of",
    "render_report",
    "CANNOT_ANSWER",
    "Answer",
    "UnsafeQuery",
    "ask",
    "check_select",
    "gateway_model",
    "run_select",
    "untraceable_numbers",
    "CHURN_KINDS",
    "FEATURES",
    "BookingsForecast",
    "CallMetrics",
    "ForecastError",
    "PipelineForecast",
    "Stage",
    "backtest",
    "forecast_bookings",
    "load_forecast",
    "monthly_bookings",
    "pipeline_forecast",
    "stage_probabilities",
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
