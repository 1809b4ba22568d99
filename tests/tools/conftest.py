"""Fixtures for the tools tests: a registry with counting tools and an invoker on a migrated database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated, Any

import pytest

from sophia.accounts import Principal, Role
from sophia.store import Database
from sophia.tools import SideEffect, ToolContext, ToolInvoker, ToolRegistry, ToolResult, ToolSettings


@dataclass
class Ledger:
    """Counts real executions so tests can prove a call ran once, or never."""

    calls: list[dict[str, Any]] = field(default_factory=list)


def principal(user_id: int = 1, role: Role = Role.MEMBER, name: str = "ada") -> Principal:
    return Principal(user_id=user_id, user_name=name, role=role, key_id=None, scopes=("*",), budget_usd=None)


def context(role: Role = Role.MEMBER, user_id: int = 1, run_id: str = "run-1") -> ToolContext:
    return ToolContext(user_id=user_id, user_name="ada", role=role, run_id=run_id, agent="coder")


@pytest.fixture
def ledger() -> Ledger:
    return Ledger()


@pytest.fixture
def registry(ledger: Ledger) -> ToolRegistry:
    registry = ToolRegistry()

    @registry.tool("notes.read", group="data")
    def read_note(title: str) -> str:
        """Read a note."""
        ledger.calls.append({"tool": "notes.read", "title": title})
        return f"note {title}"

    @registry.tool("notes.write", group="data", effect=SideEffect.WRITE)
    async def write_note(
        title: Annotated[str, "The note's title."], body: str, api_token: str | None = None
    ) -> ToolResult[dict[str, str]]:
        """Write a note."""
        ledger.calls.append({"tool": "notes.write", "title": title, "body": body})
        return ToolResult({"saved": title}, before=None, after={"title": title, "body": body})

    @registry.tool("notes.delete", group="data", effect=SideEffect.DESTROY)
    def delete_note(title: str) -> bool:
        """Delete a note."""
        ledger.calls.append({"tool": "notes.delete", "title": title})
        return True

    return registry


@pytest.fixture
async def invoker(database: Database, registry: ToolRegistry) -> AsyncIterator[ToolInvoker]:
    yield ToolInvoker(registry, database, settings=ToolSettings(max_output_bytes=2000, timeout_seconds=5))
