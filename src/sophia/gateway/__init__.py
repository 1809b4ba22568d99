"""The model gateway: the one path to a model, with routing, fallbacks, retries, breakers, budgets and a ledger."""

from sophia.gateway._accounting import Outcome
from sophia.gateway._breaker import BreakerBoard, BreakerState, CircuitBreaker
from sophia.gateway._budget_book import BudgetBook, BudgetTarget, BudgetUse, account_labels
from sophia.gateway._budgets import BudgetExceeded, BudgetGuard, BudgetLimit, Caller, Period, Scope
from sophia.gateway._builtin_kinds import PROFILES as PROVIDER_PROFILES
from sophia.gateway._builtin_kinds import KindProfile, key_problems
from sophia.gateway._cache import CachedAnswer, CacheKey, CacheMode, ResponseCache, cache_key, tenant_of
from sophia.gateway._cache_stores import CacheStore, DatabaseCacheStore, RedisCacheStore
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
    parse_retry_after,
)
from sophia.gateway._experiments import Experiment, ExperimentBook, Steering
from sophia.gateway._factory import build_cache, build_catalog, build_gateway, build_provider
from sophia.gateway._gateway import Gateway, NoModelAvailable
from sophia.gateway._health import DeploymentHealth, HealthBoard
from sophia.gateway._judge import JUDGE_KEY, Judge, JudgeCounts, parse_score
from sophia.gateway._ledger import AttemptRecord, RequestRecord, UsageLedger
from sophia.gateway._model_sync import parse_openrouter, sync_models
from sophia.gateway._provider_kinds import (
    ENTRY_POINT_GROUP,
    ProviderBuilder,
    ProviderSpec,
    provider_kind_problems,
    provider_kinds,
    register_provider_kind,
    reload_provider_kinds,
)
from sophia.gateway._quality import (
    GENERAL_TASK,
    OUTCOME_SOURCES,
    Estimate,
    Evidence,
    QualityBook,
    outcome_stats,
)
from sophia.gateway._retry import Retryable, RetryPolicy
from sophia.gateway._router import ModelNotFound, RequestTraits, RoutePlan, Router, check_chains, classify
from sophia.gateway._semantic_cache import EmbedFunction, SemanticIndex
from sophia.gateway._sequential import ArmStats, Verdict, compare, msprt
from sophia.gateway._sse import encode_sse
from sophia.gateway._synced_catalog import SyncedModel, catalog_path, read_synced
from sophia.gateway._usage import (
    USAGE_MAX_DAYS,
    CacheTotals,
    Labels,
    LedgerEntry,
    Totals,
    UsageFilter,
    UsageReport,
    UsageReports,
)
from sophia.gateway._variants import RECALL_STRATEGIES, InvalidVariant, Variant

__all__ = [
    "BUILTIN_BY_KIND",
    "ENTRY_POINT_GROUP",
    "GENERAL_TASK",
    "OUTCOME_SOURCES",
    "LOCAL_MODEL",
    "PROVIDER_PROFILES",
    "USAGE_MAX_DAYS",
    "ArmStats",
    "AttemptRecord",
    "BreakerBoard",
    "BreakerState",
    "BudgetBook",
    "BudgetExceeded",
    "BudgetGuard",
    "BudgetLimit",
    "BudgetTarget",
    "BudgetUse",
    "CacheKey",
    "CacheMode",
    "CacheStore",
    "CacheTotals",
    "CachedAnswer",
    "Caller",
    "Catalog",
    "CircuitBreaker",
    "DatabaseCacheStore",
    "DeploymentHealth",
    "EmbedFunction",
    "Estimate",
    "Evidence",
    "Experiment",
    "ExperimentBook",
    "Gateway",
    "HealthBoard",
    "KindProfile",
    "Labels",
    "LedgerEntry",
    "ModelEntry",
    "ModelNotFound",
    "NoModelAvailable",
    "Outcome",
    "Period",
    "ProviderAuthError",
    "ProviderBadRequest",
    "ProviderBuilder",
    "ProviderError",
    "ProviderProtocolError",
    "ProviderRateLimited",
    "ProviderSpec",
    "ProviderTimeout",
    "ProviderUnavailable",
    "QualityBook",
    "RequestRecord",
    "RedisCacheStore",
    "RequestTraits",
    "ResponseCache",
    "RetryPolicy",
    "Retryable",
    "RoutePlan",
    "Router",
    "Scope",
    "SemanticIndex",
    "StreamInterrupted",
    "SyncedModel",
    "Totals",
    "UsageFilter",
    "UsageLedger",
    "UsageReport",
    "UsageReports",
    "Variant",
    "Judge",
    "JudgeCounts",
    "JUDGE_KEY",
    "parse_score",
    "Steering",
    "InvalidVariant",
    "RECALL_STRATEGIES",
    "Verdict",
    "account_labels",
    "build_cache",
    "build_catalog",
    "build_gateway",
    "build_provider",
    "catalog_path",
    "cache_key",
    "check_chains",
    "compare",
    "classify",
    "encode_sse",
    "key_problems",
    "msprt",
    "outcome_stats",
    "parse_retry_after",
    "provider_kind_problems",
    "provider_kinds",
    "read_synced",
    "register_provider_kind",
    "reload_provider_kinds",
    "parse_openrouter",
    "sync_models",
    "tenant_of",
]
