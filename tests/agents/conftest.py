"""Fixtures for the agent tests: a gateway on scripted providers, and a registry of counting tools."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from sophia.accounts import Role
from sophia.config import RoutingSettings
from sophia.gateway import (
    BreakerBoard,
    BudgetGuard,
    Catalog,
    Gateway,
    HealthBoard,
    ModelEntry,
    RetryPolicy,
    Router,
    UsageLedger,
)
from sophia.gateway.providers import ScriptedProvider, ScriptedReply, ScriptedToolCall
from sophia.store import Database
from sophia.tools import SideEffect, ToolContext, ToolInvoker, ToolRegistry, ToolSettings

MODEL = ModelEntry("scripted", "scripted", "scripted-1", 1000.0, 2000.0, tools=True, quality=0.9)


@dataclass
class Ledger:
    """Counts real tool executions so tests can prove a call ran once, or never."""

    calls: list[dict[str, Any]] = field(default_factory=list)


def call(name: str, **arguments: Any) -> ScriptedReply:
    """A model reply that calls one tool (wire name: dots become underscores)."""
    return ScriptedReply(tool_calls=[ScriptedToolCall(name.replace(".", "_"), arguments)])


def tool_messages(body: dict[str, Any]) -> list[str]:
    return [str(m.get("content")) for m in body["messages"] if m["role"] == "tool"]


def user_text(body: dict[str, Any]) -> str:
    return "\n".join(str(m.get("content")) for m in body["messages"] if m["role"] == "user")


def context(role: Role = Role.MEMBER, run_id: str = "run-1") -> ToolContext:
    return ToolContext(user_id=1, user_name="ada", role=role, run_id=run_id, agent="tester")


async def _no_sleep(_: float) -> None:
    return None


def build_gateway(database: Database, provider: ScriptedProvider, entry: ModelEntry = MODEL) -> Gateway:
    catalog = Catalog((entry,))
    health, breakers = HealthBoard(), BreakerBoard(failure_threshold=100)
    return Gateway(
        catalog=catalog,
        router=Router(catalog, RoutingSettings(), health, breakers),
        providers={entry.provider: provider},
        ledger=UsageLedger(database, health=health),
        budgets=BudgetGuard(database),
        health=health,
        breakers=breakers,
        retry=RetryPolicy(max_retries=0),
        sleep=_no_sleep,
    )


def make_registry(ledger: Ledger) -> ToolRegistry:
    registry = ToolRegistry()

    @registry.tool("notes.read", group="data")
    def read_note(title: str) -> str:
        """Read a note by its title."""
        ledger.calls.append({"tool": "notes.read", "title": title})
        return f"note {title}: remember the milk"

    @registry.tool("notes.write", group="data", effect=SideEffect.WRITE)
    def write_note(title: str, body: str) -> str:
        """Write a note."""
        ledger.calls.append({"tool": "notes.write", "title": title, "body": body})
        return f"saved {title}"

    @registry.tool("notes.delete", group="data", effect=SideEffect.DESTROY)
    def delete_note(title: str) -> str:
        """Delete a note."""
        ledger.calls.append({"tool": "notes.delete", "title": title})
        return f"deleted {title}"

    @registry.tool("notes.crash", group="data")
    def crash(title: str) -> str:
        """A tool that always raises."""
        raise RuntimeError(f"disk on fire while reading {title}")

    @registry.tool("notes.slow", group="data", timeout=0.2)
    async def slow(title: str) -> str:
        """A tool that never finishes in time."""
        await asyncio.sleep(30)
        return title

    @registry.tool("notes.huge", group="data")
    def huge(title: str) -> str:
        """A tool that prints megabytes."""
        return "x" * 3_000_000

    return registry


Script = Callable[[dict[str, Any]], Any]


@pytest.fixture
def ledger() -> Ledger:
    return Ledger()


@pytest.fixture
def registry(ledger: Ledger) -> ToolRegistry:
    return make_registry(ledger)


@pytest.fixture
def invoker(database: Database, registry: ToolRegistry) -> ToolInvoker:
    return ToolInvoker(registry, database, settings=ToolSettings(max_output_bytes=4000, timeout_seconds=5))


@pytest.fixture
async def scripted_gateway(database: Database) -> AsyncIterator[Callable[[Any], Gateway]]:
    made: list[Gateway] = []

    def make(script: Any) -> Gateway:
        gateway = build_gateway(database, ScriptedProvider(script, name="scripted"))
        made.append(gateway)
        return gateway

    yield make
    for gateway in made:
        await gateway.aclose()
