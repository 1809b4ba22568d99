"""`sophia config show|check`: the effective settings, secrets redacted, and every problem with its path."""

from __future__ import annotations

from typing import Any

import typer

from sophia.cli._common import console, echo_json, fail, handle_errors, state
from sophia.config import SECRET_SCHEMES, Settings, cache_problems, memory_problems, redact_url
from sophia.errors import ConfigError, SophiaError

app = typer.Typer(name="config", help="Show and check settings.", no_args_is_help=True)


def _is_ref(value: str) -> bool:
    scheme, _, rest = value.partition(":")
    return scheme in SECRET_SCHEMES and bool(rest)


def redacted_settings(settings: Settings) -> dict[str, Any]:
    """Settings as plain data with every value that could be a secret masked (references are kept)."""
    data = settings.model_dump(mode="json")
    url = data["storage"].get("url")
    if url and not _is_ref(url):
        data["storage"]["url"] = redact_url(url)
    for provider in data["providers"]:
        provider["headers"] = {
            k: (v if _is_ref(v) else "***") for k, v in provider.get("headers", {}).items()
        }
    data["database_url"] = redact_url(settings.database_url) if not _is_ref(settings.database_url) else url
    return data


@app.command("show")
@handle_errors
def show(ctx: typer.Context) -> None:
    """Print the effective settings (file + environment), with secrets redacted."""
    echo_json(redacted_settings(state(ctx).settings()))


def connector_problems(settings: Settings) -> list[str]:
    """Unknown connector kinds, and required credentials a configured connector lacks."""
    if not settings.connectors:
        return []
    from sophia.connectors import connector_kind, connector_kind_problems

    problems = connector_kind_problems(settings)
    for name, section in settings.connectors.items():
        try:
            kind = connector_kind(section.kind or name)
        except KeyError:
            continue
        problems += [
            f"connectors.{name}.credentials.{c.name}: required by {kind.title} ({c.description})"
            for c in kind.credentials
            if c.required and c.name not in section.credentials and section.enabled
        ]
    return problems


def _provider_refs(settings: Settings) -> list[tuple[str, str]]:
    refs: list[tuple[str, str]] = []
    for i, provider in enumerate(settings.providers):
        secrets = (("api_key", provider.api_key), ("virtual_key", provider.virtual_key))
        refs += [(f"providers[{i}].{name}", value) for name, value in secrets if value]
        refs += [(f"providers[{i}].headers.{k}", v) for k, v in provider.headers.items() if _is_ref(v)]
    return refs


def reference_problems(settings: Settings) -> list[str]:
    """Unknown provider kinds, secret references that do not resolve and chain members not in the catalog."""
    from sophia.gateway import Catalog, check_chains, key_problems, provider_kind_problems
    from sophia.secrets import SecretResolver

    resolver = SecretResolver.for_settings(settings)
    refs: list[tuple[str, str]] = []
    if settings.storage.url and _is_ref(settings.storage.url):
        refs.append(("storage.url", settings.storage.url))
    for name in ("redis_url", "qdrant_url", "qdrant_api_key"):
        value = getattr(settings.memory, name)
        if value and _is_ref(value):
            refs.append((f"memory.{name}", value))
    if settings.cache.redis_url and _is_ref(settings.cache.redis_url):
        refs.append(("cache.redis_url", settings.cache.redis_url))
    refs += _provider_refs(settings)
    for name, connector in settings.connectors.items():
        refs += [(f"connectors.{name}.credentials.{k}", v) for k, v in connector.credentials.items()]
    problems = provider_kind_problems(settings) + key_problems(settings) + connector_problems(settings)
    problems += cache_problems(settings.cache)
    resolved: dict[str, str] = {}
    for where, ref in refs:
        try:
            resolved[where] = resolver.resolve(ref)
        except SophiaError as exc:
            problems.append(f"{where}: {exc.message}")
    if "storage.url" in resolved:  # the file named a reference: which engine it is shows only now
        problems += memory_problems(settings.memory, resolved["storage.url"])
    return (
        problems + check_chains(Catalog.from_settings(settings), settings.routing) + tool_problems(settings)
    )


def tool_problems(settings: Settings) -> list[str]:
    """`[tools]`: policy roles (known only to accounts) and workspace roots that must be directories."""
    from sophia.tools import ApprovalPolicy

    problems: list[str] = []
    try:
        ApprovalPolicy.from_settings(settings.tools)
    except ConfigError as exc:
        problems += exc.problems
    for i, root in enumerate(settings.tools.workspace_roots):
        if not root.is_dir():
            problems.append(f"tools.workspace_roots[{i}]: {root} is not an existing directory")
    return problems


@app.command("check")
def check(ctx: typer.Context) -> None:
    """Validate the settings and resolve every secret reference; list each problem with its path, exit 2 if any."""
    try:
        settings = state(ctx).settings()
        problems = reference_problems(settings)
    except ConfigError as exc:
        fail(exc.message, exc.problems if exc.problems != [exc.message] else None)
    except SophiaError as exc:
        fail(exc.message)
    if problems:
        fail(f"{len(problems)} problem(s) in the settings", problems)
    console.print(
        f"settings are valid: {len(settings.providers)} provider(s), {len(settings.models)} model(s), "
        f"home {settings.home}"
    )
