"""Each layer's public face is its package `__all__`: every name listed exists, and none is private."""

from __future__ import annotations

import importlib

import pytest

PACKAGES = [
    "sophia.accounts",
    "sophia.agents",
    "sophia.business",
    "sophia.config",
    "sophia.connectors",
    "sophia.conversations",
    "sophia.gateway",
    "sophia.gateway.providers",
    "sophia.mcp",
    "sophia.memory",
    "sophia.observability",
    "sophia.runs",
    "sophia.secrets",
    "sophia.server",
    "sophia.store",
    "sophia.tools",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_package_exports_exactly_what_it_lists(name: str) -> None:
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    assert exported, f"{name} has no __all__"
    assert len(exported) == len(set(exported)), f"{name}.__all__ lists a name twice"
    missing = [item for item in exported if not hasattr(module, item)]
    assert not missing, f"{name}.__all__ names what it does not define: {missing}"
    assert not [item for item in exported if item.startswith("_")], f"{name}.__all__ exports private names"
