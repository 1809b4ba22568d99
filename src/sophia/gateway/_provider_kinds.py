"""Provider kinds as a registry: `kind = "..."` in `sophia.toml` names a builder registered here.

Built-in kinds are registered with `register_provider_kind`, exactly as third-party ones are; a distribution adds a
kind with an entry point in the group `sophia.providers` whose name is the kind and whose object is the builder:

    [project.entry-points."sophia.providers"]
    echo = "sophia_echo:build_echo"
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path

import httpx

from sophia.config import ProviderSettings, Settings, suggest
from sophia.errors import ConfigError
from sophia.gateway.providers import ChatProvider, Timeouts

ENTRY_POINT_GROUP = "sophia.providers"
log = logging.getLogger("sophia.gateway.providers")


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    """One `[[providers]]` entry with its secrets resolved: what a builder needs to make the provider."""

    name: str
    kind: str
    base_url: str | None
    api_key: str | None
    headers: dict[str, str] = field(default_factory=dict)
    timeouts: Timeouts = field(default_factory=Timeouts)
    model_path: Path | None = None
    settings: ProviderSettings | None = None
    virtual_key: str | None = None  # portkey: the virtual key of the provider behind it, resolved
    transport: httpx.AsyncBaseTransport | None = None  # tests: an httpx MockTransport instead of the network


ProviderBuilder = Callable[[ProviderSpec], ChatProvider]

_builders: dict[str, ProviderBuilder] = {}
_broken: dict[str, str] = {}  # entry points that failed to load: kind -> why
_entry_points_loaded = False


def register_provider_kind(kind: str, builder: ProviderBuilder) -> None:
    """Make `kind` usable in `[[providers]]`; registering a kind again replaces its builder."""
    if not kind or not kind.strip():
        raise ValueError("a provider kind needs a name")
    if not callable(builder):
        raise TypeError(f"the builder for provider kind {kind!r} is not callable")
    _builders[kind] = builder
    _broken.pop(kind, None)


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for point in entry_points(group=ENTRY_POINT_GROUP):
        try:
            builder = point.load()
        except Exception as error:  # a broken plugin must not take the gateway down with it
            _broken[point.name] = f"its entry point {point.value!r} failed to load: {error}"
            log.warning("provider kind %r: entry point %r failed to load: %s", point.name, point.value, error)
            continue
        if point.name not in _builders:  # a built-in kind is never replaced by a plugin of the same name
            register_provider_kind(point.name, builder)


def reload_provider_kinds() -> None:
    """Read the `sophia.providers` entry points again (after installing a plugin into a running process)."""
    global _entry_points_loaded
    _entry_points_loaded = False
    _load_entry_points()


def provider_kinds() -> tuple[str, ...]:
    """Every registered kind, built-in and from entry points, sorted."""
    _load_entry_points()
    return tuple(sorted(_builders))


def provider_builder(kind: str) -> ProviderBuilder:
    _load_entry_points()
    builder = _builders.get(kind)
    if builder is None:
        raise ConfigError(f"providers: {_unknown_kind(kind)}; run `sophia config check`")
    return builder


def _unknown_kind(kind: str) -> str:
    if kind in _broken:
        return f'provider kind "{kind}" is installed but {_broken[kind]}'
    return f'unknown provider kind "{kind}"{suggest(kind, provider_kinds())}'


def provider_kind_problems(settings: Settings) -> list[str]:
    """`providers[i].kind` entries that name no registered kind, each with a suggestion when one is close."""
    known = set(provider_kinds())
    return [
        f"providers[{i}].kind: {_unknown_kind(provider.kind)}"
        for i, provider in enumerate(settings.providers)
        if provider.kind not in known
    ]


__all__ = [
    "ENTRY_POINT_GROUP",
    "ProviderBuilder",
    "ProviderSpec",
    "provider_builder",
    "provider_kind_problems",
    "provider_kinds",
    "register_provider_kind",
    "reload_provider_kinds",
]
