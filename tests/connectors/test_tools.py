"""Connector actions as tools: schemas, approvals for writes, dry runs that send nothing, audit, MCP hints."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from sophia.accounts import Role
from sophia.config import ConnectorSettings
from sophia.connectors import Connectors, build_connector
from sophia.secrets import SecretResolver
from sophia.store import Database
from sophia.tools import ApprovalRequired, ToolContext, ToolFailed, ToolInvoker, ToolRegistry, list_tool_audit
from tests.connectors.test_kit import TOKEN, Service


def _invoker(home: Path, database: Database, service: Service) -> ToolInvoker:
    settings = ConnectorSettings(kind="notes", credentials={"token": "env:NOTES_TOKEN"})
    connector = build_connector(
        "notes",
        settings,
        SecretResolver(home, environ={"NOTES_TOKEN": TOKEN}),
        transport=httpx.MockTransport(service),
    )
    registry = ToolRegistry()
    Connectors({"notes": connector}).register_tools(registry)
    return ToolInvoker(registry, database)


def _member() -> ToolContext:
    return ToolContext(user_id=1, user_name="ada", role=Role.MEMBER, run_id="run-9")


async def test_actions_become_tools_with_their_effect_and_a_dry_run_flag_on_writes(
    home: Path, database: Database
) -> None:
    registry = _invoker(home, database, Service()).registry
    names = {tool.name: tool for tool in registry.tools("integrations")}
    assert set(names) == {"notes.notes.list", "notes.notes.create", "notes.notes.delete"}
    assert names["notes.notes.list"].effect.value == "read"
    assert "dry_run" not in names["notes.notes.list"].input_schema["properties"]
    create = names["notes.notes.create"].input_schema
    assert create["properties"]["dry_run"]["default"] is False and create["required"] == ["text"]
    assert "call_context" not in create["properties"]
    assert names["notes.notes.delete"].mcp_definition()["annotations"]["destructiveHint"] is True


async def test_a_write_waits_for_approval_and_sends_nothing_until_then(
    home: Path, database: Database
) -> None:
    service = Service((201, {}, {"id": 1, "text": "hi"}))
    invoker = _invoker(home, database, service)
    with pytest.raises(ApprovalRequired) as held:
        await invoker.invoke("notes.notes.create", {"text": "hi"}, _member())
    assert service.requests == []
    admin = ToolContext(user_id=2, user_name="root", role=Role.ADMIN)
    from sophia.accounts import Principal

    approver = Principal(admin.user_id or 0, "root", Role.ADMIN, None, ("*",), None)
    await invoker.approve(held.value.approval.id, approver)
    result = await invoker.invoke_approved(held.value.approval.id)
    assert result.output == {"id": 1, "text": "hi"}
    assert len(service.requests) == 1 and json.loads(service.requests[0].content) == {"text": "hi"}


async def test_a_dry_run_needs_no_approval_sends_nothing_and_shows_the_redacted_request(
    home: Path, database: Database
) -> None:
    service = Service()
    invoker = _invoker(home, database, service)
    result = await invoker.invoke("notes.notes.create", {"text": "hello", "dry_run": True}, _member())
    assert service.requests == []
    preview: dict[str, Any] = result.output["request"]
    assert result.output["dry_run"] is True and result.output["sent"] is False
    assert preview["method"] == "POST" and preview["url"] == "https://notes.invalid/api/notes"
    assert preview["body"] == {"text": "hello"}
    assert preview["headers"]["authorization"] == "[redacted]"
    assert TOKEN not in json.dumps(result.output)
    assert "idempotency-key" in preview["headers"], "the key the real call would send is shown too"
    async with database.session() as session:
        audit = await list_tool_audit(session, run_id="run-9")
    assert [entry.detail["decision"] for entry in audit] == ["dry_run"]


async def test_a_destroy_dry_run_shows_the_delete(home: Path, database: Database) -> None:
    service = Service()
    invoker = _invoker(home, database, service)
    result = await invoker.invoke("notes.notes.delete", {"note_id": 4, "dry_run": True}, _member())
    assert result.output["request"]["method"] == "DELETE"
    assert result.output["request"]["url"].endswith("/notes/4") and service.requests == []


async def test_a_failed_action_reaches_the_agent_as_a_typed_tool_failure(
    home: Path, database: Database
) -> None:
    invoker = _invoker(home, database, Service((404, {}, {"message": "Not Found"})))
    with pytest.raises(ToolFailed) as failed:
        await invoker.invoke("notes.notes.list", {}, _member())
    assert failed.value.reason == "connector_not_found"
    assert "Notes found nothing (404)" in failed.value.message
