"""External MCP servers as Sophia tools: a real stdio fixture server, killed and hung mid-session."""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator

import pytest

from sophia.accounts import Role
from sophia.mcp import McpClients
from sophia.store import Database
from sophia.tools import (
    ApprovalPolicy,
    ApprovalRequired,
    SideEffect,
    ToolArgumentError,
    ToolContext,
    ToolFailed,
    ToolInvoker,
    ToolRegistry,
)
from tests.mcp.conftest import fixture_server
from tests.tools.conftest import principal

AGENT = ToolContext(user_id=1, user_name="ada", role=Role.MEMBER, run_id="run-1", agent="chat")


@pytest.fixture
async def clients(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[McpClients]:
    monkeypatch.setenv("TEST_FIXTURE_GREETING", "hello from env")
    server = fixture_server(
        env={"FIXTURE_GREETING": "env:TEST_FIXTURE_GREETING"},
        timeout_seconds=3,
        effects={"echo": "write"},
    )
    found = McpClients([server], resolve=lambda ref: os.environ[ref.removeprefix("env:")])
    yield found
    await found.aclose()


@pytest.fixture
async def invoker(clients: McpClients, database: Database) -> ToolInvoker:
    registry = ToolRegistry()
    await clients.register_tools(registry)
    return ToolInvoker(registry, database, policy=ApprovalPolicy({"fx.echo": {"*": "auto"}}))


async def test_external_tools_are_namespaced_with_effects_from_annotations_and_config(
    invoker: ToolInvoker,
) -> None:
    effects = {tool.name: tool.effect for tool in invoker.registry.tools()}
    assert effects == {
        "fx.drop_notes": SideEffect.DESTROY,
        "fx.echo": SideEffect.WRITE,  # readOnlyHint, overridden in config
        "fx.fail": SideEffect.READ,
        "fx.get_pid": SideEffect.READ,
        "fx.hang": SideEffect.READ,
        "fx.write_note": SideEffect.WRITE,
    }
    assert {tool.group for tool in invoker.registry.tools()} == {"integrations"}


async def test_secret_reference_in_env_reaches_the_server(invoker: ToolInvoker) -> None:
    result = await invoker.invoke("fx.echo", {"text": "hi"}, AGENT)
    assert result.output == {"result": "hello from env: hi"}


async def test_survives_the_server_being_killed_mid_session(
    invoker: ToolInvoker, clients: McpClients
) -> None:
    pid = (await invoker.invoke("fx.get_pid", {}, AGENT)).output["result"]
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(
        ToolFailed, match="MCP server 'fx' (closed the connection|went away|could not be reached)"
    ):
        await invoker.invoke("fx.echo", {"text": "are you there?"}, AGENT)
    again = await invoker.invoke("fx.echo", {"text": "back"}, AGENT)
    assert again.output == {"result": "hello from env: back"}
    assert (await invoker.invoke("fx.get_pid", {}, AGENT)).output["result"] != pid
    assert clients.connection("fx").connects == 2


async def test_hung_server_gives_a_clear_tool_error_and_the_next_call_reconnects(
    invoker: ToolInvoker,
) -> None:
    with pytest.raises(ToolFailed, match="did not run hang within 3 seconds.*next call reconnects"):
        await invoker.invoke("fx.hang", {"seconds": 600}, AGENT)
    assert (await invoker.invoke("fx.echo", {"text": "ok"}, AGENT)).output == {"result": "hello from env: ok"}


async def test_external_write_is_held_then_runs_once_when_approved(invoker: ToolInvoker) -> None:
    with pytest.raises(ApprovalRequired) as held:
        await invoker.invoke("fx.write_note", {"title": "minutes"}, AGENT)
    approval = held.value.approval
    assert approval.arguments == {"title": "minutes"}
    await invoker.approve(approval.id, principal(role=Role.ADMIN))
    result = await invoker.invoke_approved(approval.id)
    assert result.output == {"result": "stored minutes"}


async def test_arguments_are_checked_against_the_servers_schema_before_sending(invoker: ToolInvoker) -> None:
    with pytest.raises(ToolArgumentError, match="text"):
        await invoker.invoke("fx.echo", {"txt": "typo"}, AGENT)


async def test_a_tool_error_on_the_server_becomes_tool_failed(invoker: ToolInvoker) -> None:
    with pytest.raises(ToolFailed, match="reported an error from fail: .*disk on fire"):
        await invoker.invoke("fx.fail", {"reason": "disk on fire"}, AGENT)


async def test_a_server_that_cannot_start_is_noted_and_does_not_stop_the_others() -> None:
    clients = McpClients([fixture_server(name="broken", command="/nonexistent/mcp-server", args=[])])
    registry = ToolRegistry()
    try:
        assert await clients.register_tools(registry) == {}
    finally:
        await clients.aclose()
    assert "broken" in clients.errors and "check its command" in clients.errors["broken"]
    assert len(registry) == 0
