"""Agents: the runner (pydantic-ai behind Sophia's interface), teams, consensus, the chat orchestrator, outcomes.

Models come only through the gateway and tools only through the `ToolInvoker`, so routing, budgets, the
ledger, approvals and the audit apply to every agent step.
"""

from sophia.agents._chat import INTENTS, ChatEvent, ChatOrchestrator, Citation, classify_intent
from sophia.agents._model import (
    AgentError,
    AgentResult,
    AgentSpec,
    CostLimitExceeded,
    RunLimitExceeded,
    RunLimits,
    StepLimitExceeded,
    StepRecord,
    TimeLimitExceeded,
)
from sophia.agents._outcomes import OutcomeMemory, outcome_namespace
from sophia.agents._runner import AgentRunner, RunSession
from sophia.agents._steps import DirectSteps, StepExecutor, StepFunction
from sophia.agents._team import ConsensusResult, PlanStep, Team, TeamResult, consensus, parse_plan
from sophia.agents._waits import ApprovalWaits, WaitingSteps

__all__ = [
    "INTENTS",
    "AgentError",
    "AgentResult",
    "AgentRunner",
    "AgentSpec",
    "ApprovalWaits",
    "ChatEvent",
    "ChatOrchestrator",
    "Citation",
    "ConsensusResult",
    "CostLimitExceeded",
    "DirectSteps",
    "OutcomeMemory",
    "PlanStep",
    "RunLimitExceeded",
    "RunLimits",
    "RunSession",
    "StepExecutor",
    "StepFunction",
    "StepLimitExceeded",
    "StepRecord",
    "Team",
    "TeamResult",
    "TimeLimitExceeded",
    "WaitingSteps",
    "classify_intent",
    "consensus",
    "outcome_namespace",
    "parse_plan",
]
