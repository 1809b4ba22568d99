"""Typed settings from `sophia.toml` and `SOPHIA_*` environment variables.

Lookup order for the file: `--config`, `SOPHIA_CONFIG`, `./sophia.toml`, `$SOPHIA_HOME/sophia.toml`.
Environment variables override the file; nested keys use `__` (`SOPHIA_SERVER__PORT=9000`).
Secret values never live here: a secret field holds a reference (`env:NAME`, `secret:NAME`, `file:/path`).
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from sophia.config._bi import BiSettings, report_problems
from sophia.config._coding import CodingSettings
from sophia.config._connectors import CONNECTOR_NAME, ConnectorSettings
from sophia.config._durations import seconds as _seconds
from sophia.config._learning import LearningSettings
from sophia.config._mcp import McpHttpSettings, McpServerSettings
from sophia.config._refs import REF_PATTERN, SecretRef
from sophia.config._research import ResearchSettings
from sophia.config._runs import RunsSettings
from sophia.config._tools import ToolSettings
from sophia.errors import ConfigError
from sophia.observability import TracingSettings

TASKS = ("reasoning", "coding", "research", "creative", "speed", "math", "vision", "function_calling")
PROVIDER_KINDS = (
    "openai",
    "openai-compatible",
    "anthropic",
    "local",
    "openrouter",
    "portkey",
    "groq",
    "mistral",
    "deepseek",
    "xai",
    "together",
    "cohere",
    "gemini",
    "perplexity",
    "huggingface",
    "ollama",
    "vllm",
    "llamacpp",
)
"""The built-in provider kinds, for hints. The gateway's kind registry (with plugins) checks `kind` itself."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StorageSettings(_Section):
    url: str | None = Field(
        default=None,
        description="SQLAlchemy URL or a secret reference to one; empty means SQLite under SOPHIA_HOME.",
    )
    echo: bool = False


class ServerSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    engine: Literal["uvicorn", "granian"] = "uvicorn"  # the ASGI server behind `sophia serve`
    upgrade_on_start: bool = True
    auth_cache_seconds: float = Field(
        default=5.0, ge=0, description="How long a verified API key is trusted before it is checked again."
    )
    max_body_bytes: int = Field(
        default=20_000_000, gt=0, description="Largest request body of the model API (chat, embeddings)."
    )
    max_request_bytes: int = Field(
        default=1_000_000, gt=0, description="Largest request body of every other route (413 beyond it)."
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Addresses whose X-Forwarded-For / X-Forwarded-Proto are believed; empty believes none.",
    )
    run_worker: bool = Field(
        default=True,
        description="Run a run worker inside `sophia serve`; keep off when separate `sophia worker`s take runs.",
    )
    drain_seconds: float = Field(
        default=0.0,
        ge=0,
        le=300,
        description="After SIGTERM, keep serving this long with /readyz at 503 so load balancers stop sending.",
    )
    graceful_shutdown_seconds: float = Field(
        default=10.0,
        gt=0,
        le=3600,
        description="Then how long in-flight requests and streams may take to finish before they are cut.",
    )


class LoggingSettings(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["json", "console"] = "json"


class VaultSettings(_Section):
    """HashiCorp Vault (KV v2) behind `vault:PATH#KEY`; its own credentials are env:, secret: or file: refs."""

    address: str = Field(description="e.g. https://vault.internal:8200")
    mount: str = "secret"
    namespace: str | None = None
    token: SecretRef | None = None
    role_id: SecretRef | None = None
    secret_id: SecretRef | None = None
    cache_seconds: float = Field(
        default=60.0, ge=0, description="How long a read is trusted; rotation delay."
    )
    timeout_seconds: float = Field(default=5.0, gt=0)


class EscSettings(_Section):
    """Pulumi ESC behind `esc:PROJECT/ENV#KEY` (the environment open API)."""

    organization: str
    token: SecretRef
    api_url: str = "https://api.pulumi.com"
    cache_seconds: float = Field(default=60.0, ge=0, description="How long an opened environment is trusted.")
    timeout_seconds: float = Field(default=10.0, gt=0)


class SecretsSettings(_Section):
    key_file: Path | None = Field(default=None, description="Vault key file; default SOPHIA_HOME/vault.key.")
    vault: VaultSettings | None = None
    esc: EscSettings | None = None


_URL_WITH_PASSWORD = re.compile(r"^[a-z0-9+]+://[^/@:]*:[^/@]+@", re.IGNORECASE)


def _check_url_or_ref(value: str) -> str:
    """A service URL may be written out only when it holds no password; otherwise it must be a reference."""
    if not REF_PATTERN.match(value) and _URL_WITH_PASSWORD.match(value):
        raise ValueError(
            "this URL holds a password: keep it out of the file and use env:NAME, secret:NAME or file:/path"
        )
    return value


UrlOrRef = Annotated[str, AfterValidator(_check_url_or_ref)]
"""A URL with no password in it, or a secret reference to a URL (resolved by `sophia.secrets` at use)."""


class WebSettings(_Section):
    """Dashboard, session, rate-limit and metrics settings; every default is the safe one."""

    allow_signup: bool = Field(default=False, description="Let visitors sign up; they wait as 'pending'.")
    session_hours: float = Field(default=24 * 7, gt=0, description="A session's lifetime without use.")
    secure_cookies: bool | None = Field(
        default=None, description="Force the Secure cookie flag; None sets it when the request is https."
    )
    login_user_failures: int = Field(default=5, ge=1, description="Failed sign-ins per user before lockout.")
    login_ip_failures: int = Field(
        default=20, ge=1, description="Failed sign-ins per address before lockout."
    )
    lockout_seconds: int = Field(default=900, ge=1, description="How long a lockout lasts.")
    requests_per_minute_key: int = Field(default=600, ge=0, description="Per API key; 0 turns it off.")
    requests_per_minute_user: int = Field(default=1200, ge=0, description="Per user; 0 turns it off.")
    requests_per_minute_unauthenticated: int = Field(
        default=60,
        ge=0,
        description="Per client address, requests whose API key is missing or wrong (API and MCP); 0 turns it off.",
    )
    redis_url: UrlOrRef | None = Field(
        default=None,
        description="What replicas share: rate-limit counters, budget spend and reservations, breaker state "
        "(a URL, or a secret reference to one such as env:REDIS_URL).",
    )
    redis_prefix: str = Field(
        default="sophia:", min_length=1, description="Prefix of the counters' Redis keys, one per deployment."
    )
    metrics_token: SecretRef | None = Field(
        default=None, description="A bearer token (as a secret reference) that may read /metrics."
    )


class ProviderSettings(_Section):
    name: str
    kind: str
    base_url: str | None = None
    api_key: SecretRef | None = None
    headers: dict[str, str] = Field(default_factory=dict, description="Extra headers; values may be refs.")
    model_path: Path | None = Field(default=None, description="GGUF path for kind = local.")
    threads: int | None = Field(default=None, ge=1, description="CPU threads for kind = local.")
    sampling: dict[str, float | int | bool] = Field(
        default_factory=dict,
        description="kind = local: default max_tokens, temperature, top_p, top_k, repeat_penalty, stop_on_repeat.",
    )
    connect_timeout: float = Field(default=5.0, gt=0)
    first_token_timeout: float = Field(default=60.0, gt=0)
    chunk_timeout: float = Field(default=30.0, gt=0)
    total_timeout: float = Field(default=600.0, gt=0)
    max_retries: int = Field(default=2, ge=0, le=10)
    virtual_key: SecretRef | None = Field(
        default=None, description="kind = portkey: the Portkey virtual key of the provider behind it."
    )
    catalog: str | None = Field(
        default=None,
        description="Whose built-in models this provider serves (portkey: the kind behind the virtual key).",
    )
    app_url: str | None = Field(default=None, description="kind = openrouter: sent as HTTP-Referer.")
    app_name: str | None = Field(default=None, description="kind = openrouter: sent as X-Title.")
    preferences: dict[str, Any] = Field(
        default_factory=dict,
        description="kind = openrouter: provider routing preferences (order, sort, allow_fallbacks, only…).",
    )


class ModelSettings(_Section):
    name: str
    provider: str
    model: str
    input_price: float = Field(default=0.0, ge=0, description="USD per 1M input tokens.")
    output_price: float = Field(default=0.0, ge=0, description="USD per 1M output tokens.")
    context_window: int = Field(default=8192, gt=0)
    tools: bool = False
    vision: bool = False
    json_mode: bool = False
    reasoning: bool = False
    quality: float = Field(default=0.5, ge=0, le=1, description="Relative answer quality, 0..1.")


class RoutingSettings(_Section):
    policy: Literal["quality", "balanced", "cost"] = "balanced"
    chains: dict[str, list[str]] = Field(default_factory=dict)


class BudgetSettings(_Section):
    refresh_seconds: float = Field(
        default=10.0,
        ge=0,
        description="How often a server re-reads budget limits and spend (limits set elsewhere apply within it).",
    )


class MemoryBackendSettings(_Section):
    """`[memory]`: the vector index and recall cache every process opens, and how often memory forgets."""

    index: Literal["numpy", "pgvector", "qdrant"] = Field(
        default="numpy",
        description="numpy: exact, in process; pgvector: in the PostgreSQL storage; qdrant: a Qdrant server.",
    )
    cache: Literal["memory", "redis"] = Field(
        default="memory", description="memory: an LRU per process; redis: one cache shared by every process."
    )
    redis_url: UrlOrRef | None = Field(default=None, description="For cache = redis, e.g. env:REDIS_URL.")
    cache_ttl_seconds: int = Field(default=300, gt=0, description="How long a cached recall may live.")
    redis_prefix: str = Field(
        default="sophia:memory", min_length=1, description="Key prefix, so installs can share one Redis."
    )
    qdrant_url: UrlOrRef | None = Field(default=None, description="For index = qdrant: the server URL.")
    qdrant_path: Path | None = Field(
        default=None, description="For index = qdrant without a server: Qdrant's local mode (one process)."
    )
    qdrant_api_key: SecretRef | None = None
    qdrant_collection: str = Field(default="sophia_memory", pattern=r"^[A-Za-z0-9_-]{1,60}$")
    pgvector_hnsw: bool = Field(default=False, description="An HNSW index for large single-namespace stores.")
    graph: bool = Field(
        default=True,
        description="Read entities and relationships out of every write into the temporal graph.",
    )
    graph_model: str | None = Field(
        default=None,
        description="A gateway model that extracts the graph (where a gateway is running); unset: the rules.",
    )
    facts_model: str | None = Field(
        default=None,
        description="A gateway model that learns facts and preferences from stored conversations; unset: none.",
    )
    consolidate_every: Annotated[float, BeforeValidator(_seconds), Field(ge=0)] = Field(
        default=86400.0,
        description='How often consolidation (dedupe, decay, TTL purge) runs: "1h", "1d"; 0 or "off" never.',
    )


class CacheSettings(_Section):
    """`[cache]`: the gateway's response cache (off by default); per tenant, so one user never sees another's."""

    enabled: bool = Field(default=False, description="Serve a repeated request from the cache.")
    store: Literal["database", "redis"] = Field(
        default="database",
        description="database: a table in storage (SQLite/PostgreSQL); redis: shared, TTL'd.",
    )
    ttl: Annotated[float, BeforeValidator(_seconds), Field(gt=0)] = Field(
        default=3600.0, description='How long an answer may be served again: "10m", "1h", "1d".'
    )
    redis_url: UrlOrRef | None = Field(default=None, description="For store = redis, e.g. env:REDIS_URL.")
    redis_prefix: str = Field(default="sophia:cache", min_length=1, description="Key prefix in Redis.")
    max_entry_bytes: int = Field(default=1_000_000, gt=0, description="Larger answers are not cached.")
    semantic: bool = Field(
        default=False, description="Also serve a close paraphrase (MiniLM cosine similarity), per user."
    )
    semantic_threshold: float = Field(default=0.95, gt=0, le=1, description="Cosine similarity for a hit.")


def memory_problems(memory: MemoryBackendSettings, database_url: str) -> list[str]:
    """What `[memory]` asks for that the rest of the settings cannot give; `database_url` as resolved (or a ref)."""
    problems: list[str] = []
    dialect = database_url.split(":", 1)[0].split("+", 1)[0].lower()
    if memory.index == "pgvector" and dialect == "sqlite":
        problems.append(
            'memory.index: "pgvector" keeps vectors in PostgreSQL, but storage is SQLite; '
            'set storage.url to a PostgreSQL URL or use index = "numpy"'
        )
    if memory.index == "qdrant" and not (memory.qdrant_url or memory.qdrant_path):
        problems.append(
            'memory.qdrant_url: required when memory.index = "qdrant" (or memory.qdrant_path for local mode)'
        )
    if memory.qdrant_url and memory.qdrant_path:
        problems.append("memory.qdrant_path: set qdrant_url or qdrant_path, not both")
    if memory.cache == "redis" and not memory.redis_url:
        problems.append('memory.redis_url: required when memory.cache = "redis" (e.g. env:REDIS_URL)')
    return problems


def cache_problems(cache: CacheSettings) -> list[str]:
    if cache.enabled and cache.store == "redis" and not cache.redis_url:
        return ['cache.redis_url: required when cache.store = "redis" (e.g. env:REDIS_URL)']
    return []


class Settings(BaseSettings):
    """All of Sophia's settings. Build with `load_settings()`."""

    model_config = SettingsConfigDict(
        env_prefix="SOPHIA_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    home: Path = Field(default=Path(".sophia"), description="Where data lives (SOPHIA_HOME).")
    storage: StorageSettings = StorageSettings()
    server: ServerSettings = ServerSettings()
    logging: LoggingSettings = LoggingSettings()
    secrets: SecretsSettings = SecretsSettings()
    providers: list[ProviderSettings] = Field(default_factory=list)
    models: list[ModelSettings] = Field(default_factory=list)
    routing: RoutingSettings = RoutingSettings()
    budgets: BudgetSettings = BudgetSettings()
    web: WebSettings = WebSettings()
    tracing: TracingSettings = TracingSettings()
    mcp: McpHttpSettings = McpHttpSettings()
    mcp_servers: list[McpServerSettings] = Field(default_factory=list)
    tools: ToolSettings = ToolSettings()
    coding: CodingSettings = CodingSettings()
    memory: MemoryBackendSettings = MemoryBackendSettings()
    cache: CacheSettings = CacheSettings()
    connectors: dict[str, ConnectorSettings] = Field(
        default_factory=dict, description="External services by instance name ([connectors.github], …)."
    )
    research: ResearchSettings = ResearchSettings()
    runs: RunsSettings = RunsSettings()
    bi: BiSettings = BiSettings()
    learning: LearningSettings = LearningSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment wins over the file (passed as init kwargs); no .env files, no secrets dirs.
        return (env_settings, init_settings)

    @property
    def database_url(self) -> str:
        """The configured URL (possibly a secret reference) or the embedded SQLite file."""
        if self.storage.url:
            return self.storage.url
        return f"sqlite+aiosqlite:///{(self.home / 'sophia.db').resolve()}"


def find_config_file(explicit: Path | None = None, environ: Mapping[str, str] | None = None) -> Path | None:
    """The first settings file in lookup order, or None when there is none."""
    env = os.environ if environ is None else environ
    if explicit is not None:
        return explicit
    if env.get("SOPHIA_CONFIG"):
        return Path(env["SOPHIA_CONFIG"])
    for candidate in (Path("sophia.toml"), Path(env.get("SOPHIA_HOME", ".sophia")) / "sophia.toml"):
        if candidate.is_file():
            return candidate
    return None


def format_location(loc: Iterable[int | str]) -> str:
    """('models', 2, 'provider') -> 'models[2].provider'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(root)"


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist; create it or drop --config") from None
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc.strerror}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None


def _pydantic_problems(error: ValidationError) -> list[str]:
    problems = []
    for item in error.errors():
        where = format_location(item["loc"])
        if item["type"] == "extra_forbidden":
            problems.append(f"{where}: unknown setting")
        else:
            problems.append(f"{where}: {item['msg']}")
    return problems


def suggest(value: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.6)
    return f' — did you mean "{close[0]}"?' if close else ""


def _reference_problems(settings: Settings) -> list[str]:
    """Cross-references that field types cannot check: provider and model names, chain tasks.

    Provider kinds are checked by the gateway, which knows the kinds that plugins register.
    """
    problems: list[str] = []
    provider_names = [p.name for p in settings.providers] + ["local"]
    seen: set[str] = set()
    for i, provider in enumerate(settings.providers):
        if provider.name in seen:
            problems.append(f'providers[{i}].name: duplicate provider name "{provider.name}"')
        seen.add(provider.name)
        if provider.kind == "openai-compatible" and not provider.base_url:
            problems.append(f"providers[{i}].base_url: required for kind openai-compatible")
    model_names: list[str] = []
    for i, model in enumerate(settings.models):
        if model.provider not in provider_names:
            hint = suggest(model.provider, provider_names + list(PROVIDER_KINDS))
            problems.append(f'models[{i}].provider: unknown provider "{model.provider}"{hint}')
        if model.name in model_names:
            problems.append(f'models[{i}].name: duplicate model name "{model.name}"')
        model_names.append(model.name)
    for task in settings.routing.chains:
        if task not in TASKS:
            problems.append(f'routing.chains.{task}: unknown task "{task}"{suggest(task, TASKS)}')
    # Chain members may name built-in catalog models, so the gateway checks them (`sophia.gateway.check_chains`).
    # Connector kinds are checked by `sophia.connectors`, which knows the kinds that plugins register.
    problems.extend(
        f"connectors.{name[:40]}: an instance name is a lower-case word (letters, digits, _)"
        for name in settings.connectors
        if not CONNECTOR_NAME.match(name)
    )
    problems.extend(report_problems(settings.bi, settings.connectors))
    return problems


def load_settings(
    config: Path | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Read, validate and cross-check settings; raise ConfigError listing every problem."""
    path = find_config_file(config)
    data: dict[str, Any] = _read_toml(path) if path else {}
    if overrides:
        data.update(overrides)
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        problems = _pydantic_problems(exc)
        source = f" in {path}" if path else ""
        raise ConfigError(f"{len(problems)} problem(s) in the settings{source}", problems) from None
    problems = _reference_problems(settings) + memory_problems(settings.memory, settings.database_url)
    if problems:
        source = f" in {path}" if path else ""
        raise ConfigError(f"{len(problems)} problem(s) in the settings{source}", problems)
    return settings


_URL_PASSWORD = re.compile(r"(?P<head>[a-z0-9+]+://[^:/@]+:)(?P<password>[^@]+)(?P<tail>@)", re.IGNORECASE)


def redact_url(url: str) -> str:
    """Hide the password part of a database URL."""
    return _URL_PASSWORD.sub(r"\g<head>***\g<tail>", url)
