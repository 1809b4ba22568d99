"""Durable runs on DBOS: a run is a workflow, each model and tool call a step; workers share one queue.

A killed worker's runs resume where they stopped (finished steps are not repeated, writes happen once), a
run waiting for approval survives restarts, and a watchdog hands a dead worker's runs to a live one.
"""

from sophia.runs._approvals import ApprovalDesk, Decided
from sophia.runs._counts import count_runs_by_status
from sophia.runs._durable import DurableSteps, approval_topic
from sophia.runs._kinds import KindCall, KindOutcome, RunKind
from sophia.runs._research import EVENT_KIND, ResearchEvent, ResearchRun, research_events
from sophia.runs._runtime import (
    Panel,
    RunRuntime,
    current_runtime,
    default_agents,
    default_panel,
    default_team,
    install_runtime,
)
from sophia.runs._service import AGENT_KINDS, RunDetail, RunInfo, RunService
from sophia.runs._settings import (
    APP_VERSION,
    PLUGGED_KINDS,
    QUEUE,
    WORKFLOW,
    RunSettings,
    default_executor_id,
    load_sealing_key,
    system_database_url,
)
from sophia.runs._tables import RUN_STATUSES, TERMINAL_STATUSES, RunRow, RunStepRow, RunWorkerRow
from sophia.runs._worker import RunWorker
from sophia.runs._workflow import execute_run, run_workflow

__all__ = [
    "AGENT_KINDS",
    "APP_VERSION",
    "EVENT_KIND",
    "PLUGGED_KINDS",
    "QUEUE",
    "RUN_STATUSES",
    "TERMINAL_STATUSES",
    "WORKFLOW",
    "ApprovalDesk",
    "Decided",
    "DurableSteps",
    "KindCall",
    "KindOutcome",
    "Panel",
    "ResearchEvent",
    "ResearchRun",
    "RunDetail",
    "RunInfo",
    "RunKind",
    "RunRow",
    "RunRuntime",
    "RunService",
    "RunSettings",
    "RunStepRow",
    "RunWorker",
    "RunWorkerRow",
    "approval_topic",
    "count_runs_by_status",
    "current_runtime",
    "default_agents",
    "default_executor_id",
    "default_panel",
    "default_team",
    "execute_run",
    "install_runtime",
    "load_sealing_key",
    "research_events",
    "run_workflow",
    "system_database_url",
]
