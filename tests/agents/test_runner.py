"""The agent runner: models through the gateway, tools through the invoker, limits, and tool errors."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from sophia.agents import (
    AgentRunner,
    AgentSpec,
    CostLimitExceeded,
    RunLimits,
    StepLimitExceeded,
    TimeLimitExceeded,
)
from sophia.gateway._tables import UsageRequestRow
from sophia.gateway.providers import ScriptedReply
from sophia.store import Database
from sophia.tools import ToolInvoker, list_tool_audit
from tests.agents.conftest import Ledger, call, context, tool_messages

NOTES = AgentSpec("notes", "You manage notes.", tools=("notes.read", "notes.write", "notes.crash"))


async def test_agent_calls_a_tool_and_answers_through_the_gateway(
    scripted_gateway: Any, invoker: ToolInvoker, ledger: Ledger, database: Database
) -> None:
    def script(body: dict[str, Any]) -> Any:
        done = tool_messages(body)
        return call("notes.read", title="shopping") if not done else f"The note says: {done[0]}"

    gateway = scripted_gateway(script)
    result = await AgentRunner(gateway, invoker).run(NOTES, "what is in my shopping note?", context=context())

    assert result.output == "The note says: note shopping: remember the milk"
    assert ledger.calls == [{"tool": "notes.read", "title": "shopping"}]
    assert [(s.kind, s.name, s.status) for s in result.steps] == [
        ("model", "model", "ok"),
        ("tool", "notes.read", "ok"),
        ("model", "model", "ok"),
    ]
    assert result.cost_usd > 0
    assert result.cost_usd == pytest.approx(sum(s.cost_usd for s in result.steps))
    assert result.model == "scripted"


async def test_every_model_call_is_in_the_gateway_ledger(
    scripted_gateway: Any, invoker: ToolInvoker, database: Database
) -> None:
    gateway = scripted_gateway(
        lambda body: call("notes.read", title="a") if not tool_messages(body) else "ok"
    )
    await AgentRunner(gateway, invoker).run(NOTES, "read a", context=context())
    await gateway.aclose()
    async with database.session() as session:
        rows = (await session.scalars(sa.select(UsageRequestRow))).all()
    assert len(rows) == 2
    assert {row.model for row in rows} == {"scripted"}


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (call("notes.read", title=7, extra=True), "tool_argument_error"),
        (call("notes.crash", title="a"), "disk on fire"),
        (call("notes.slow", title="a"), "tool_timeout"),
    ],
)
async def test_a_failing_tool_comes_back_as_a_tool_error_and_the_run_goes_on(
    scripted_gateway: Any, registry: Any, database: Database, reply: ScriptedReply, expected: str
) -> None:
    invoker = ToolInvoker(registry, database)
    spec = AgentSpec("notes", "notes", tools=("notes.read", "notes.crash", "notes.slow"))
    seen: list[str] = []

    def script(body: dict[str, Any]) -> Any:
        done = tool_messages(body)
        if not done:
            return reply
        seen.extend(done)
        return "I could not do it."

    result = await AgentRunner(scripted_gateway(script), invoker).run(spec, "go", context=context())
    assert result.output == "I could not do it."
    assert seen and seen[0].startswith("TOOL ERROR") and expected in seen[0]
    tool_steps = [s for s in result.steps if s.kind == "tool"]
    assert tool_steps[0].status == "error" and expected in (tool_steps[0].error or "") + seen[0]
    assert result.errors


async def test_megabytes_of_output_reach_the_model_cut_to_the_limit(
    scripted_gateway: Any, invoker: ToolInvoker
) -> None:
    lengths: list[int] = []

    def script(body: dict[str, Any]) -> Any:
        done = tool_messages(body)
        if not done:
            return call("notes.huge", title="a")
        lengths.append(len(done[0]))
        return "done"

    spec = AgentSpec("notes", "notes", tools=("notes.huge",))
    result = await AgentRunner(scripted_gateway(script), invoker).run(spec, "go", context=context())
    assert result.output == "done"
    assert lengths and lengths[0] < 10_000


async def test_an_unknown_tool_is_a_clear_error_and_is_recorded(
    scripted_gateway: Any, invoker: ToolInvoker
) -> None:
    retries: list[str] = []

    def script(body: dict[str, Any]) -> Any:
        texts = [str(m.get("content")) for m in body["messages"] if m["role"] in ("tool", "user")]
        if len(body["messages"]) <= 2:
            return call("notes.burn", title="a")
        retries.extend(texts)
        return "sorry"

    result = await AgentRunner(scripted_gateway(script), invoker).run(NOTES, "go", context=context())
    assert result.output == "sorry"
    assert any("notes_burn" in text for text in retries)
    assert any(s.kind == "tool" and s.status == "error" and "notes_burn" in s.name for s in result.steps)


async def test_a_write_tool_waits_for_approval_and_never_runs_without_it(
    scripted_gateway: Any, invoker: ToolInvoker, ledger: Ledger, database: Database
) -> None:
    seen: list[str] = []

    def script(body: dict[str, Any]) -> Any:
        done = tool_messages(body)
        if not done:
            return call("notes.write", title="t", body="b")
        seen.extend(done)
        return "asked for approval"

    result = await AgentRunner(scripted_gateway(script), invoker).run(NOTES, "write", context=context())
    assert ledger.calls == []
    assert "approval" in seen[0]
    assert [s.status for s in result.steps if s.kind == "tool"] == ["waiting_approval"]
    pending = await invoker.approvals(status="pending", run_id="run-1")
    assert [p.tool for p in pending] == ["notes.write"]
    async with database.session() as session:
        actions = [entry.action for entry in await list_tool_audit(session, run_id="run-1")]
    assert "tool.approval_requested" in actions


async def test_the_step_limit_stops_a_model_that_loops_forever(
    scripted_gateway: Any, invoker: ToolInvoker
) -> None:
    gateway = scripted_gateway(lambda body: call("notes.read", title="again"))
    with pytest.raises(StepLimitExceeded, match="limit of 5 steps"):
        await AgentRunner(gateway, invoker).run(
            NOTES, "loop", context=context(), limits=RunLimits(max_steps=5)
        )


async def test_the_cost_limit_stops_the_run_after_the_step_that_crossed_it(
    scripted_gateway: Any, invoker: ToolInvoker
) -> None:
    gateway = scripted_gateway(lambda body: call("notes.read", title="again"))
    limits = RunLimits(max_cost_usd=0.05)
    with pytest.raises(CostLimitExceeded, match="limit is"):
        await AgentRunner(gateway, invoker).run(NOTES, "loop", context=context(), limits=limits)


async def test_the_time_limit_stops_a_stalled_model(scripted_gateway: Any, invoker: ToolInvoker) -> None:
    gateway = scripted_gateway([ScriptedReply(stall_at=0)])
    with pytest.raises(TimeLimitExceeded):
        await AgentRunner(gateway, invoker).run(
            NOTES, "stall", context=context(), limits=RunLimits(max_seconds=0.3)
        )
