"""Building the gateway from settings: providers with resolved credentials, catalog, router, ledger, budgets."""

from __future__ import annotations

import logging

import httpx

from sophia.config import ProviderSettings, Settings
from sophia.errors import ConfigError
from sophia.gateway._breaker import BreakerBoard
from sophia.gateway._budgets import BudgetGuard
from sophia.gateway._builtin_kinds import PROFILES, api_key_ref
from sophia.gateway._cache import ResponseCache
from sophia.gateway._cache_stores import CacheStore, DatabaseCacheStore, RedisCacheStore
from sophia.gateway._catalog import LOCAL_MODEL, Catalog
from sophia.gateway._experiments import ExperimentBook
from sophia.gateway._gateway import Gateway
from sophia.gateway._health import HealthBoard
from sophia.gateway._judge import Judge
from sophia.gateway._ledger import UsageLedger, load_health
from sophia.gateway._provider_kinds import ProviderSpec, provider_builder, register_provider_kind
from sophia.gateway._quality import QualityBook
from sophia.gateway._replicas import BreakerSync
from sophia.gateway._retry import RetryPolicy
from sophia.gateway._router import Router, check_chains
from sophia.gateway._semantic_cache import EmbedFunction, SemanticIndex
from sophia.gateway._spend import open_spend
from sophia.gateway.providers import (
    AnthropicProvider,
    ChatProvider,
    LocalProvider,
    LocalSampling,
    OpenAICompatibleProvider,
    Timeouts,
    local_extra_installed,
)
from sophia.secrets import SecretResolver, is_secret_ref
from sophia.store import Database

log = logging.getLogger("sophia.gateway")
OPENAI_URL = PROFILES["openai"].base_url
ANTHROPIC_URL = PROFILES["anthropic"].base_url


def _timeouts(provider: ProviderSettings) -> Timeouts:
    return Timeouts(
        connect=provider.connect_timeout,
        first_token=provider.first_token_timeout,
        between_chunks=provider.chunk_timeout,
        total=provider.total_timeout,
    )


def _openai_compatible(spec: ProviderSpec) -> ChatProvider:
    base_url = spec.base_url or OPENAI_URL
    return OpenAICompatibleProvider(
        spec.name, base_url, spec.api_key, spec.headers, spec.timeouts, spec.transport
    )


def _anthropic(spec: ProviderSpec) -> ChatProvider:
    base_url = spec.base_url or ANTHROPIC_URL
    return AnthropicProvider(spec.name, base_url, spec.api_key, spec.headers, spec.timeouts, spec.transport)


def _local(spec: ProviderSpec) -> ChatProvider:
    settings = spec.settings or ProviderSettings(name=spec.name, kind=spec.kind)
    return LocalProvider(
        spec.name,
        spec.model_path,
        n_threads=settings.threads,
        timeouts=spec.timeouts,
        sampling=LocalSampling.from_settings(settings.sampling),
    )


register_provider_kind("openai", _openai_compatible)
register_provider_kind("openai-compatible", _openai_compatible)
register_provider_kind("anthropic", _anthropic)
register_provider_kind("local", _local)


def build_provider(
    provider: ProviderSettings, resolver: SecretResolver, transport: httpx.AsyncBaseTransport | None = None
) -> ChatProvider:
    """The provider for one `[[providers]]` entry, built by its kind's registered builder.

    A built-in kind without `api_key` reads its usual variable (`GROQ_API_KEY`, …); `transport` replaces the
    network in tests.
    """
    builder = provider_builder(provider.kind)
    key_ref = api_key_ref(provider)
    api_key = resolver.resolve(key_ref) if key_ref else None
    headers = {k: (resolver.resolve(v) if is_secret_ref(v) else v) for k, v in provider.headers.items()}
    spec = ProviderSpec(
        name=provider.name,
        kind=provider.kind,
        base_url=provider.base_url,
        api_key=api_key,
        headers=headers,
        timeouts=_timeouts(provider),
        model_path=provider.model_path,
        settings=provider,
        virtual_key=resolver.resolve(provider.virtual_key) if provider.virtual_key else None,
        transport=transport,
    )
    built = builder(spec)
    if not isinstance(built, ChatProvider):
        raise ConfigError(
            f'providers: the builder of provider kind "{provider.kind}" returned {type(built).__name__}, '
            "which is not a ChatProvider (complete, stream, embed, aclose)"
        )
    return built


def build_catalog(settings: Settings) -> Catalog:
    catalog = Catalog.from_settings(settings, local_available=True)
    problems = check_chains(catalog, settings.routing)
    if problems:
        raise ConfigError(f"{len(problems)} problem(s) in routing.chains", problems)
    return catalog


async def build_gateway(
    settings: Settings, database: Database, *, start: bool = True, embed: EmbedFunction | None = None
) -> Gateway:
    """Providers are built with their secrets resolved now, so a missing key fails at start, not mid-request.

    `embed` (the memory layer's embedder, from the shell) turns on the semantic cache when `cache.semantic` asks.
    """
    resolver = SecretResolver.for_settings(settings)
    providers: dict[str, ChatProvider] = {p.name: build_provider(p, resolver) for p in settings.providers}
    if LOCAL_MODEL not in providers:
        providers[LOCAL_MODEL] = LocalProvider(LOCAL_MODEL)
    catalog = build_catalog(settings)
    health = HealthBoard()
    health.load(await load_health(database))
    breakers = BreakerBoard()
    ledger = UsageLedger(database, health=health)
    if start:
        ledger.start()
    max_retries = max((p.max_retries for p in settings.providers), default=2)
    quality = QualityBook(database)
    await quality.load()
    learning = settings.learning
    experiments = ExperimentBook(database, prompts=learning.prompts)
    await experiments.load()
    judge = None
    if learning.judge_model and not learning.judge_model.startswith("sophia/"):
        if catalog.get(learning.judge_model) is None:
            raise ConfigError(
                f'learning.judge_model: "{learning.judge_model}" is not a model in the catalog (or sophia/TASK)'
            )
    if learning.judge_model and learning.judge_sample > 0 and start:
        judge = Judge(
            learning.judge_model,
            sample=learning.judge_sample,
            tasks=learning.judge_tasks,
            queue_size=learning.judge_queue,
        )
    url, refresh = resolver.setting(settings.web.redis_url), settings.budgets.refresh_seconds
    spend = open_spend(url, settings.web.redis_prefix, refresh=refresh)
    breaker_sync = None
    if url and start:
        breaker_sync = BreakerSync(url, breakers, settings.web.redis_prefix)
        await breaker_sync.start()
    return Gateway(
        catalog=catalog,
        router=Router(catalog, settings.routing, health, breakers, quality),
        providers=providers,
        ledger=ledger,
        budgets=BudgetGuard(database, refresh=refresh, spend=spend),
        health=health,
        breakers=breakers,
        retry=RetryPolicy(max_retries=max_retries),
        cache=build_cache(settings, database, resolver, embed),
        experiments=experiments,
        breaker_sync=breaker_sync,
        judge=judge,
    )


def build_cache(
    settings: Settings, database: Database, resolver: SecretResolver, embed: EmbedFunction | None = None
) -> ResponseCache | None:
    """`[cache]`: None when off, so the request path pays one attribute check and nothing else."""
    options = settings.cache
    if not options.enabled:
        return None
    store: CacheStore
    if options.store == "redis":
        if not options.redis_url:
            raise ConfigError('cache.redis_url: required when cache.store = "redis" (e.g. env:REDIS_URL)')
        url = resolver.resolve(options.redis_url) if is_secret_ref(options.redis_url) else options.redis_url
        store = RedisCacheStore(url, options.redis_prefix)
    else:
        store = DatabaseCacheStore(database)
    semantic = None
    if options.semantic and embed is not None:
        semantic = SemanticIndex(embed, threshold=options.semantic_threshold)
    elif options.semantic:
        log.warning(
            "cache.semantic: no embedder in this process (only `sophia serve` has one); exact cache only"
        )
    return ResponseCache(store, ttl=options.ttl, max_entry_bytes=options.max_entry_bytes, semantic=semantic)


def local_model_installed() -> bool:
    return local_extra_installed()
