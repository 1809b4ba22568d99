"""The model gateway: the one path to a model, with routing, fallbacks, retries, breakers, budgets and a ledger."""

from sophia.gateway._breaker import BreakerBoard, BreakerState, CircuitBreaker
from sophia.gateway._budgets import BudgetExceeded, BudgetGuard, BudgetLimit, Caller, Period, Scope
from sophia.gateway._catalog import BUILTIN_BY_KIND, LOCAL_MODEL, Catalog, ModelEntry
from sophia.gateway._errors import (
    ProviderAuthError,
    ProviderBadRequest,
    ProviderError,
    ProviderProtocolError,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
    StreamInterrupted,
)
from sophia.gateway._factory import build_catalog, build_gateway, build_provider
from sophia.gateway._gateway import Gateway, NoModelAvailable, Outcome
from sophia.gateway._health import DeploymentHealth, HealthBoard
from sophia.gateway._ledger import AttemptRecord, RequestRecord, UsageLedger
from sophia.gateway._retry import RetryPolicy
from sophia.gateway._router import ModelNotFound, RequestTraits, RoutePlan, Router, check_chains, classify
from sophia.gateway._tables import UsageRequestRow

__all__ = [
    "BUILTIN_BY_KIND",
    "LOCAL_MODEL",
    "AttemptRecord",
    "BreakerBoard",
    "BreakerState",
    "BudgetExceeded",
    "BudgetGuard",
    "BudgetLimit",
    "Caller",
    "Catalog",
    "CircuitBreaker",
    "DeploymentHealth",
    "Gateway",
    "HealthBoard",
    "ModelEntry",
    "ModelNotFound",
    "NoModelAvailable",
    "Outcome",
    "Period",
    "ProviderAuthError",
    "ProviderBadRequest",
    "ProviderError",
    "ProviderProtocolError",
    "ProviderRateLimited",
    "ProviderTimeout",
    "ProviderUnavailable",
    "RequestRecord",
    "RequestTraits",
    "RetryPolicy",
    "RoutePlan",
    "Router",
    "Scope",
    "StreamInterrupted",
    "UsageLedger",
    "UsageRequestRow",
    "build_catalog",
    "build_gateway",
    "build_provider",
    "check_chains",
    "classify",
]
