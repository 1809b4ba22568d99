"""memory.* tools: the memory service behind the registry, namespaces from the context, writes approved."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sophia.accounts import Role
from sophia.memory import HashingEmbedder, MemoryService
from sophia.store import Database, upgrade
from sophia.tools import (
    ApprovalPolicy,
    ApprovalRequired,
    SideEffect,
    ToolContext,
    ToolFailed,
    ToolInvoker,
    ToolRegistry,
    register_memory_tools,
)
from tests.tools.conftest import principal


@pytest.fixture
async def database(sqlite_url: str) -> AsyncIterator[Database]:
    """SQLite only: the memory service's default keyword index is SQLite FTS5 (memory has its own PG tests)."""
    await upgrade(sqlite_url)
    db = Database(sqlite_url)
    yield db
    await db.close()


@pytest.fixture
async def memory(database: Database, tmp_path: Path) -> AsyncIterator[MemoryService]:
    service = await MemoryService.open(
        database, HashingEmbedder(dimensions=64), index_path=tmp_path / "vectors.npz"
    )
    yield service
    await service.close()


@pytest.fixture
def invoker(database: Database, memory: MemoryService) -> ToolInvoker:
    registry = ToolRegistry()
    register_memory_tools(registry, memory)
    return ToolInvoker(registry, database, policy=ApprovalPolicy({"memory.remember": {"*": "auto"}}))


def _as(user_id: int, role: Role = Role.MEMBER) -> ToolContext:
    return ToolContext(user_id=user_id, role=role, run_id=f"run-{user_id}", agent="chat")


def test_memory_tools_are_in_the_memory_group_with_their_side_effects(invoker: ToolInvoker) -> None:
    effects = {tool.name: tool.effect for tool in invoker.registry.tools("memory")}
    assert effects == {
        "memory.forget": SideEffect.DESTROY,
        "memory.graph": SideEffect.READ,
        "memory.recall": SideEffect.READ,
        "memory.remember": SideEffect.WRITE,
        "memory.stats": SideEffect.READ,
    }


async def test_remember_then_recall_only_within_the_callers_namespace(invoker: ToolInvoker) -> None:
    saved = await invoker.invoke("memory.remember", {"content": "Ada prefers tea over coffee"}, _as(1))
    assert saved.output["namespace"] == "user:1"
    await invoker.invoke("memory.remember", {"content": "Bob prefers coffee", "kind": "preference"}, _as(2))

    mine = await invoker.invoke("memory.recall", {"query": "what does she prefer, tea?"}, _as(1))
    assert [hit["content"] for hit in mine.output] == ["Ada prefers tea over coffee"]
    stats = await invoker.invoke("memory.stats", {}, _as(1))
    assert stats.output["current"] == 1  # a member counts only what they may read
    everything = await invoker.invoke("memory.stats", {}, _as(3, Role.ADMIN))
    assert everything.output["current"] == 2


async def test_forget_needs_approval_and_then_removes_the_memory_from_recall(invoker: ToolInvoker) -> None:
    saved = await invoker.invoke("memory.remember", {"content": "the door code is on the fridge"}, _as(1))
    with pytest.raises(ApprovalRequired) as caught:
        await invoker.invoke("memory.forget", {"memory_id": saved.output["id"]}, _as(1))
    approval = caught.value.approval
    await invoker.approve(approval.id, principal(user_id=1))
    await invoker.invoke_approved(approval.id)
    assert (await invoker.invoke("memory.recall", {"query": "door code"}, _as(1))).output == []


async def test_another_users_memory_cannot_be_forgotten(invoker: ToolInvoker) -> None:
    saved = await invoker.invoke("memory.remember", {"content": "Bob's private note"}, _as(2))
    admin_invoker = ToolInvoker(
        invoker.registry, invoker.database, policy=ApprovalPolicy({"memory.forget": {"admin": "auto"}})
    )
    with pytest.raises(ToolFailed, match="no memory"):
        await admin_invoker.invoke("memory.forget", {"memory_id": saved.output["id"]}, _as(1, Role.ADMIN))


async def test_graph_tool_and_expanded_recall_stay_in_the_callers_namespaces(invoker: ToolInvoker) -> None:
    await invoker.invoke("memory.remember", {"content": "Dana owns the Acme account."}, _as(1))
    await invoker.invoke("memory.remember", {"content": "Dana asked for a discount on the renewal."}, _as(1))
    await invoker.invoke("memory.remember", {"content": "Zed owns the Acme account."}, _as(2))
    (acme,) = (await invoker.invoke("memory.graph", {"entity": "Acme"}, _as(1))).output
    assert [(r["subject"], r["relation"], r["valid_until"]) for r in acme["relationships"]] == [
        ("Dana", "owns", None)
    ]
    hits = await invoker.invoke(
        "memory.recall", {"query": "who owns acme", "k": 1, "expand_graph": True}, _as(1)
    )
    assert "Dana asked for a discount on the renewal." in [h["content"] for h in hits.output]
    assert all("Zed" not in h["content"] for h in hits.output)
