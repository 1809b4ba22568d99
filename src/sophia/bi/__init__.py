"""Business intelligence over the unified business tables: the sales coach (per-call and per-rep conversation
metrics against the team baseline), churn risk and account health (a logistic model on unified-table
signals, saved as JSON), the pipeline and bookings forecast (stage probabilities from deal history, ETS with
intervals, backtested against seasonal naive), `ask` (model-written read-only SQL, every number traced) and
scheduled reports delivered to Slack and Telegram. `BiService` is the one entry every surface takes; `BiRun` is the
`bi` run kind and `register_bi_tools` adds the `bi.*` tools of the `data` group."""

from sophia.bi._advice import Advice, AdviceItem, coach_advice, timestamp
from sophia.bi._agent_tools import register_bi_agent_tools
from sophia.bi._ask import (
    CANNOT_ANSWER,
    Answer,
    Step,
    UnsafeQuery,
    ask,
    check_select,
    direct_step,
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
from sophia.bi._interventions import INTERVENTIONS, interventions
from sophia.bi._load import (
    CHURN_KINDS,
    account_health,
    churn_model_path,
    load_churn_frames,
    load_coach,
    load_forecast,
)
from sophia.bi._recruit import (
    HR_NAMESPACE,
    CandidateMatch,
    RecruitDesk,
    RecruitNotFound,
    Saved,
    score_candidate,
)
from sophia.bi._recruit_docs import (
    CandidateDoc,
    InvalidRecruitDoc,
    LineMatch,
    RoleDoc,
    parse_candidate,
    parse_role,
    terms,
)
from sophia.bi._recruit_interview import (
    InterviewNotes,
    NotesRefused,
    Questions,
    interview_questions,
    save_notes,
    structure_notes,
)
from sophia.bi._report_render import RenderedReport, png_of, render_report
from sophia.bi._report_rows import BiReportRow
from sophia.bi._report_schedule import ReportSchedule
from sophia.bi._reports import MAX_ATTEMPTS, ReportNotFound, ReportRecord, Reports, period_start
from sophia.bi._run import BiRun, durable_step
from sophia.bi._service import BiService, ChurnModelMissing, parse_as_of
from sophia.bi._strategy import Evidence, Strategy, StrategyItem, strategy
from sophia.bi._strategy_load import load_strategy, research_findings
from sophia.bi._tools import BiTools, register_bi_tools

__all__ = [
    "Advice",
    "AdviceItem",
    "coach_advice",
    "timestamp",
    "INTERVENTIONS",
    "interventions",
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
    "BiRun",
    "BiService",
    "BiTools",
    "ChurnModelMissing",
    "Step",
    "UnsafeQuery",
    "ask",
    "check_select",
    "direct_step",
    "durable_step",
    "parse_as_of",
    "register_bi_tools",
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
    "HR_NAMESPACE",
    "CandidateDoc",
    "CandidateMatch",
    "InterviewNotes",
    "InvalidRecruitDoc",
    "LineMatch",
    "NotesRefused",
    "Questions",
    "RecruitDesk",
    "RecruitNotFound",
    "RoleDoc",
    "Saved",
    "interview_questions",
    "parse_candidate",
    "parse_role",
    "save_notes",
    "score_candidate",
    "structure_notes",
    "terms",
    "Evidence",
    "Strategy",
    "StrategyItem",
    "strategy",
    "load_strategy",
    "research_findings",
    "register_bi_agent_tools",
]
