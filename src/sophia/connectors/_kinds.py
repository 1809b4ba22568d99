"""Connector kinds: the built-in services and those that packages add through the `sophia.connectors` entry point.

A built-in kind is named here by import path, so a process imports only the services it has configured.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from sophia.config import Settings, suggest
from sophia.connectors._model import Connector

__all__ = [
    "BUILTIN_KINDS",
    "ENTRY_POINT_GROUP",
    "connector_kind",
    "connector_kind_names",
    "connector_kind_problems",
    "register_connector_kind",
]

ENTRY_POINT_GROUP = "sophia.connectors"

BUILTIN_KINDS: dict[str, str] = {
    "asana": "sophia.connectors._asana:Asana",
    "snowflake": "sophia.connectors._snowflake:Snowflake",
    "fly": "sophia.connectors._fly:Fly",
    "lambda": "sophia.connectors._lambda:LambdaCloud",
    "linear": "sophia.connectors._linear:Linear",
    "n8n": "sophia.connectors._n8n:N8n",
    "neon": "sophia.connectors._neon:Neon",
    "github": "sophia.connectors._github:GitHub",
    "hubspot": "sophia.connectors._hubspot:HubSpot",
    "openrouter": "sophia.connectors._openrouter:OpenRouter",
    "qdrant": "sophia.connectors._qdrant:Qdrant",
    "salesforce": "sophia.connectors._salesforce:Salesforce",
    "slack": "sophia.connectors._slack:Slack",
    "telegram": "sophia.connectors._telegram:Telegram",
}
"""kind -> `module:Class`; every service module registers here."""

_registered: dict[str, type[Connector]] = {}
_plugins: dict[str, str] | None = None


def register_connector_kind(kind: type[Connector]) -> type[Connector]:
    """Add a kind from code (a test, a plugin's hook); also usable as a class decorator."""
    _registered[kind.kind] = kind
    return kind


def _plugin_paths() -> dict[str, str]:
    global _plugins
    if _plugins is None:
        _plugins = {point.name: point.value for point in entry_points(group=ENTRY_POINT_GROUP)}
    return _plugins


def connector_kind_names() -> list[str]:
    return sorted({*BUILTIN_KINDS, *_plugin_paths(), *_registered})


def connector_kind(kind: str) -> type[Connector]:
    """The class of a kind; KeyError (with a hint) when no such kind is known."""
    if kind in _registered:
        return _registered[kind]
    path = BUILTIN_KINDS.get(kind) or _plugin_paths().get(kind)
    if path is None:
        raise KeyError(f'unknown connector kind "{kind}"{suggest(kind, connector_kind_names())}')
    module, _, attribute = path.partition(":")
    found = getattr(importlib.import_module(module), attribute)
    if not (isinstance(found, type) and issubclass(found, Connector)):
        raise KeyError(f"connector kind {kind} ({path}) is not a Connector class")
    _registered[kind] = found
    return found


def connector_kind_problems(settings: Settings) -> list[str]:
    """`sophia config check`'s lines for connector kinds nobody provides."""
    problems = []
    for name, connector in settings.connectors.items():
        kind = connector.kind or name
        try:
            connector_kind(kind)
        except KeyError as error:
            problems.append(f"connectors.{name}.kind: {error.args[0]}")
    return problems
