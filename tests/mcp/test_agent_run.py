"""An agent run on an external MCP server's tools that survives the server being killed mid-run.

A real `AgentRunner` run (scripted model, gateway, invoker) whose steps are recorded in `run_steps` like a
durable run's, then read back through `RunService` and as the `runs://` MCP resource.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import mcp_types as types
import pytest

from mcp import Client, MCPError
from sophia.accounts import Role
from sophia.agents import AgentRunner, AgentSpec, RunLimits, StepFunction
from sophia.config import Settings
from sophia.gateway.providers import ScriptedProvider
from sophia.mcp import McpRuntime, build_server, open_runtime, run_principal
from sophia.runs import DurableSteps, RunRow
from sophia.store import Database, utcnow
from sophia.tools import ApprovalPolicy, ToolContext
from tests.agents.conftest import build_gateway, call, tool_messages
from tests.mcp.conftest import fixture_server

SPEC = AgentSpec("fx-agent", "You use the fixture server.", tools=("fx.get_pid", "fx.echo"))
ADA = ToolContext(user_id=1, user_name="ada", role=Role.MEMBER, agent="fx-agent")
BOB = ToolContext(user_id=2, user_name="bob", role=Role.MEMBER, agent="mcp")
ADMIN = ToolContext(user_id=3, user_name="root", role=Role.ADMIN, agent="mcp")


class InProcessSteps(DurableSteps):
    """`DurableSteps` without a DBOS worker: steps run at once but are recorded in `run_steps` as in a run."""

    async def run_step(self, seq: int, name: str, function: StepFunction, *, once: bool) -> dict[str, Any]:
        return await function()


@pytest.fixture
async def runtime(database: Database, tmp_path: Path) -> AsyncIterator[McpRuntime]:
    """Sophia's MCP runtime with the fixture server as `[[mcp_servers]]` (reads auto-approved)."""
    settings = Settings(home=tmp_path, mcp_servers=[fixture_server(timeout_seconds=5)])
    built = await open_runtime(settings, database, embedder=None)
    built.invoker.policy = ApprovalPolicy({"fx.echo": {"*": "auto"}})
    yield built
    await built.aclose()


async def _start_run(database: Database, run_id: str, context: ToolContext, task: str) -> None:
    async with database.transaction() as session:
        session.add(
            RunRow(
                id=run_id,
                user_id=context.user_id,
                agent=SPEC.name,
                task=task,
                status="running",
                output=None,
                error=None,
                cost_usd=0.0,
                steps=0,
                limits=RunLimits().to_record(),
                context=context.to_record(),
                executor_id=None,
                created_at=utcnow(),
                started_at=utcnow(),
                finished_at=None,
            )
        )


async def _finish_run(database: Database, run_id: str, output: str) -> None:
    async with database.transaction() as session:
        row = await session.get(RunRow, run_id)
        assert row is not None
        row.status, row.output, row.finished_at = "succeeded", output, utcnow()


async def _run(runtime: McpRuntime, database: Database, run_id: str, script: Any) -> Any:
    """One run of SPEC recorded under `run_id`; the gateway is closed afterwards."""
    context = replace(ADA, run_id=run_id)
    await _start_run(database, run_id, context, "echo twice")
    gateway = build_gateway(database, ScriptedProvider(script, name="scripted"))
    try:
        result = await AgentRunner(gateway, runtime.invoker).run(
            SPEC, "echo twice", context=context, steps=InProcessSteps(database, run_id)
        )
    finally:
        await gateway.aclose()
    await _finish_run(database, run_id, result.output)
    return result


def _killing_script(seen: list[str]) -> Any:
    """Ask for the server's pid, kill that process, then call a tool on it again, then answer."""

    def script(body: dict[str, Any]) -> Any:
        done = tool_messages(body)
        if not done:
            return call("fx.get_pid")
        if len(done) == 1:
            os.kill(int(json.loads(done[0])["result"]), signal.SIGKILL)
            return call("fx.echo", text="still there?")
        seen.extend(done)
        return "The fixture server went away mid-run."

    return script


async def test_agent_run_survives_the_external_server_dying_mid_run_and_a_later_run_reconnects(
    runtime: McpRuntime, database: Database
) -> None:
    seen: list[str] = []
    first = await _run(runtime, database, "run_killed", _killing_script(seen))

    assert first.output == "The fixture server went away mid-run."
    tools = [(s.name, s.status) for s in first.steps if s.kind == "tool"]
    assert tools == [("fx.get_pid", "ok"), ("fx.echo", "error")]
    assert seen[1].startswith("TOOL ERROR") and "MCP server 'fx'" in seen[1]
    assert runtime.runs is not None
    detail = await runtime.runs.detail(run_principal(ADMIN), "run_killed")
    recorded = [(s["name"], s["status"]) for s in detail.steps if s["kind"] == "tool"]
    assert recorded == tools
    failed = next(s for s in detail.steps if s["name"] == "fx.echo")
    assert "MCP server 'fx'" in (failed["error"] or "") and "reconnects" in failed["error"]

    again = await _run(
        runtime,
        database,
        "run_after",
        lambda body: call("fx.echo", text="back") if not tool_messages(body) else tool_messages(body)[0],
    )
    assert json.loads(again.output) == {"result": "echo: back"}
    assert runtime.clients is not None and runtime.clients.connection("fx").connects == 2


def _json(result: types.ReadResourceResult) -> Any:
    content = result.contents[0]
    assert isinstance(content, types.TextResourceContents)
    return json.loads(content.text)


async def test_runs_are_resources_confined_to_the_caller(runtime: McpRuntime, database: Database) -> None:
    await _run(runtime, database, "run_ada", lambda body: "nothing to do")

    runtime.context = ADA
    async with Client(build_server("all", runtime)) as client:
        listed = [r.uri for r in (await client.list_resources()).resources]
        templates = [t.uri_template for t in (await client.list_resource_templates()).resource_templates]
        index = _json(await client.read_resource("runs://runs"))
        one = _json(await client.read_resource("runs://runs/run_ada"))
    assert "runs://runs" in listed and "runs://runs/run_ada" in listed
    assert "runs://runs/{id}" in templates
    assert [run["id"] for run in index["runs"]] == ["run_ada"]
    assert one["status"] == "succeeded" and one["output"] == "nothing to do"
    assert one["cost_usd"] > 0 and [s["kind"] for s in one["step_list"]] == ["model"]

    runtime.context = BOB
    async with Client(build_server("all", runtime)) as client:
        assert _json(await client.read_resource("runs://runs")) == {"runs": []}
        assert "runs://runs/run_ada" not in [r.uri for r in (await client.list_resources()).resources]
        with pytest.raises(MCPError, match="no run 'run_ada' you can see"):
            await client.read_resource("runs://runs/run_ada")

    runtime.context = ADMIN
    async with Client(build_server("all", runtime)) as client:
        assert [run["id"] for run in _json(await client.read_resource("runs://runs"))["runs"]] == ["run_ada"]


async def test_only_the_all_server_serves_runs(runtime: McpRuntime) -> None:
    async with Client(build_server("integrations", runtime)) as client:
        assert client.server_capabilities.resources is None
