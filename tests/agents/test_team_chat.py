"""Teams, consensus, learning from outcomes and the chat orchestrator, on a scripted gateway."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sophia.agents import (
    INTENTS,
    AgentRunner,
    AgentSpec,
    ChatOrchestrator,
    OutcomeMemory,
    StepLimitExceeded,
    Team,
    classify_intent,
    consensus,
    parse_plan,
)
from sophia.agents._model import RunLimits
from sophia.memory import HashingEmbedder, MemoryKind, MemoryService
from sophia.store import Database
from sophia.tools import ToolInvoker
from tests.agents.conftest import Ledger, call, context, tool_messages, user_text

PLANNER = AgentSpec("planner", "plan")
READER = AgentSpec("reader", "reads notes", tools=("notes.read",), task_type="research")
WRITER = AgentSpec("writer", "writes prose", task_type="creative")
REVIEWER = AgentSpec("reviewer", "review")


@pytest.fixture
async def memory(database: Database) -> AsyncIterator[MemoryService]:
    service = await MemoryService.open(database, HashingEmbedder())
    yield service
    await service.close()


def system_text(body: dict[str, Any]) -> str:
    return "\n".join(str(m.get("content")) for m in body["messages"] if m["role"] == "system")


def team_script(reviews: list[str], prompts: list[str]) -> Any:
    def answer(body: dict[str, Any]) -> Any:
        role, text = system_text(body), user_text(body)
        if role == "plan":
            prompts.append(text)
            steps = [
                {"agent": "reader", "task": "read the launch note"},
                {"agent": "writer", "task": "summarise"},
            ]
            return json.dumps({"steps": steps})
        if role == "reads notes":
            return call("notes.read", title="launch") if not tool_messages(body) else "launch is on May 2"
        if role == "writes prose":
            return "Summary: the launch is on May 2." if "May 2" in text else "Summary: unknown"
        return reviews.pop(0)

    return answer


async def test_team_plans_delegates_in_order_and_the_reviewer_accepts(
    scripted_gateway: Any, invoker: ToolInvoker, ledger: Ledger
) -> None:
    prompts: list[str] = []
    runner = AgentRunner(scripted_gateway(team_script(["ACCEPT"], prompts)), invoker)
    session = runner.session(context=context())
    result = await Team(PLANNER, [READER, WRITER], REVIEWER).run(session, "When is the launch?")
    assert result.accepted and result.rounds == 1
    assert [s.agent for s in result.plan] == ["reader", "writer"]
    assert result.output == "Summary: the launch is on May 2."
    assert ledger.calls == [{"tool": "notes.read", "title": "launch"}]
    assert result.cost_usd == pytest.approx(sum(s.cost_usd for s in result.steps))


async def test_reviewer_sends_work_back_with_feedback_and_rounds_are_bounded(
    scripted_gateway: Any, invoker: ToolInvoker
) -> None:
    prompts: list[str] = []
    reviews = ["REVISE: cite the note", "REVISE: still wrong", "REVISE: never happens"]
    runner = AgentRunner(scripted_gateway(team_script(reviews, prompts)), invoker)
    result = await Team(PLANNER, [READER, WRITER], REVIEWER, max_rounds=2).run(
        runner.session(context=context()), "When?"
    )
    assert not result.accepted and result.rounds == 2
    assert "cite the note" in prompts[1]


async def test_a_team_shares_one_step_limit(scripted_gateway: Any, invoker: ToolInvoker) -> None:
    runner = AgentRunner(scripted_gateway(team_script(["ACCEPT"], [])), invoker)
    session = runner.session(context=context(), limits=RunLimits(max_steps=4))
    with pytest.raises(StepLimitExceeded):
        await Team(PLANNER, [READER, WRITER], REVIEWER).run(session, "When?")


async def test_consensus_judge_picks_one_answer(scripted_gateway: Any, invoker: ToolInvoker) -> None:
    def answer(body: dict[str, Any]) -> Any:
        role = system_text(body)
        return {"a": "four", "b": "4", "judge": "PICK 2"}[role]

    runner = AgentRunner(scripted_gateway(answer), invoker)
    members = [AgentSpec("one", "a"), AgentSpec("two", "b")]
    result = await consensus(runner.session(context=context()), members, AgentSpec("judge", "judge"), "2+2?")
    assert (result.output, result.picked) == ("4", 1)
    assert [a.output for a in result.answers] == ["four", "4"]


@given(st.lists(st.text(min_size=1, max_size=30), min_size=1, max_size=12))
def test_parse_plan_never_names_an_unknown_agent_and_stays_bounded(lines: list[str]) -> None:
    plan = parse_plan("\n".join(lines), ["reader", "writer"])
    assert len(plan) <= 8
    assert all(step.agent in ("reader", "writer") and step.task for step in plan)


async def test_planners_see_outcomes_of_earlier_runs(
    scripted_gateway: Any, invoker: ToolInvoker, memory: MemoryService
) -> None:
    outcomes = OutcomeMemory(memory)
    await outcomes.record(
        namespace="user:1",
        task="When is the product launch?",
        status="failed",
        tried=["notes.read"],
        result="read the wrong note",
        cost_usd=0.01,
        errors=["notes.read: no such note 'lunch'"],
        run_id="r0",
    )
    lessons = await outcomes.recall("When is the launch?", namespace="user:1")
    assert lessons and "no such note 'lunch'" in lessons[0]
    prompts: list[str] = []
    runner = AgentRunner(scripted_gateway(team_script(["ACCEPT"], prompts)), invoker)
    await Team(PLANNER, [READER, WRITER], REVIEWER).run(
        runner.session(context=context()), "When?", lessons=lessons
    )
    assert "no such note 'lunch'" in prompts[0]
    assert await outcomes.recall("When is the launch?", namespace="user:2") == []


@pytest.mark.parametrize(
    ("message", "intent"),
    [
        ("What is my favourite colour?", "question"),
        ("remember that I like tea", "command"),
        ("Compare the two quarterly trends", "analysis"),
        ("Research the latest studies on sleep and cite sources", "research"),
        ("Fix this python traceback", "code"),
        ("Which accounts are at risk and why?", "business"),
    ],
)
def test_classify_intent(message: str, intent: str) -> None:
    assert classify_intent(message) == intent and intent in INTENTS


async def test_chat_recalls_memory_streams_a_cited_answer_and_remembers_the_turn(
    scripted_gateway: Any, invoker: ToolInvoker, memory: MemoryService
) -> None:
    await memory.remember(
        "Ada prefers green tea in the morning", namespace="user:1", kind=MemoryKind.PREFERENCE
    )
    systems: list[str] = []

    def answer(body: dict[str, Any]) -> Any:
        systems.append(system_text(body))
        return "You like green tea [M1]."

    runner = AgentRunner(scripted_gateway(answer), invoker)
    chat = ChatOrchestrator(runner, memory)
    events = [e async for e in chat.respond("What tea do I like?", context=context(), conversation_id="c1")]
    kinds = [e.type for e in events]
    assert kinds[0] == "intent" and kinds[-1] == "final" and "token" in kinds
    assert "green tea" in systems[0]
    final = events[-1]
    assert final.text == "".join(e.text for e in events if e.type == "token") == "You like green tea [M1]."
    assert final.data["model"] == "scripted" and final.data["cost_usd"] > 0
    assert [c["ref"] for c in final.data["citations"]] == ["M1"]
    hits = await memory.recall("green tea", ["user:1"], kinds=[MemoryKind.CONVERSATION])
    assert any(h.memory.session_id == "c1" for h in hits)


async def test_chat_uses_tools_for_a_command_and_cites_the_source(
    scripted_gateway: Any, invoker: ToolInvoker, ledger: Ledger
) -> None:
    def answer(body: dict[str, Any]) -> Any:
        if body.get("stream"):
            return "Your note says remember the milk [S1]."
        return (
            call("notes.read", title="todo") if not tool_messages(body) else "the note says remember the milk"
        )

    runner = AgentRunner(scripted_gateway(answer), invoker)
    chat = ChatOrchestrator(runner, agents={"chat": AgentSpec("chat", "chat", tools=("notes.read",))})
    events = [e async for e in chat.respond("open my todo note", context=context())]
    assert [e.text for e in events if e.type == "tool"] == ["notes.read"]
    assert events[-1].data["citations"][0]["kind"] == "source"
    assert ledger.calls == [{"tool": "notes.read", "title": "todo"}]


async def test_chat_sends_the_earlier_turns_before_the_new_message(
    scripted_gateway: Any, invoker: ToolInvoker
) -> None:
    seen: list[list[dict[str, Any]]] = []

    def answer(body: dict[str, Any]) -> Any:
        seen.append(body["messages"])
        return "Your name is Ada."

    chat = ChatOrchestrator(AgentRunner(scripted_gateway(answer), invoker))
    history = [
        {"role": "user", "content": "My name is Ada."},
        {"role": "assistant", "content": "Nice to meet you, Ada."},
        {"role": "system", "content": "ignored: only user and assistant turns are history"},
    ]
    events = [e async for e in chat.respond("What is my name?", context=context(), history=history)]
    assert events[-1].type == "final"
    roles = [m["role"] for m in seen[0]]
    assert roles == ["system", "user", "assistant", "user"]
    assert [m["content"] for m in seen[0][1:]] == [
        "My name is Ada.",
        "Nice to meet you, Ada.",
        "What is my name?",
    ]


async def test_chat_final_event_reports_the_model_tokens_and_cost(
    scripted_gateway: Any, invoker: ToolInvoker
) -> None:
    chat = ChatOrchestrator(AgentRunner(scripted_gateway(lambda body: "four words in answer"), invoker))
    events = [e async for e in chat.respond("How are you?", context=context(), model="scripted")]
    kinds = [e.type for e in events]
    assert kinds.index("model") < kinds.index("token"), "the model is announced before the first token"
    assert events[kinds.index("model")].text == "scripted"
    final = events[-1].data
    assert final["model"] == "scripted" and final["input_tokens"] > 0 and final["output_tokens"] > 0
    price_in, price_out = 1000.0, 2000.0  # the scripted entry's prices per million tokens
    expected = (final["input_tokens"] * price_in + final["output_tokens"] * price_out) / 1_000_000
    assert final["cost_usd"] == pytest.approx(expected)


async def test_chat_honours_the_chosen_model_and_reports_an_unknown_one(
    scripted_gateway: Any, invoker: ToolInvoker, memory: MemoryService
) -> None:
    chat = ChatOrchestrator(AgentRunner(scripted_gateway(lambda body: "hello"), invoker), memory)
    events = [
        e
        async for e in chat.respond(
            "Hi there", context=context(), model="no-such-model", conversation_id="c9"
        )
    ]
    assert events[-1].type == "error" and events[-1].data["code"]
    assert "final" not in [e.type for e in events]
    hits = await memory.recall("Hi there", ["user:1"], kinds=[MemoryKind.CONVERSATION])
    assert not any(h.memory.session_id == "c9" for h in hits), "a failed turn is not remembered"


async def test_closing_the_chat_early_stops_the_answer_and_remembers_nothing(
    scripted_gateway: Any, invoker: ToolInvoker, memory: MemoryService
) -> None:
    chat = ChatOrchestrator(
        AgentRunner(scripted_gateway(lambda body: "one two three four five"), invoker), memory
    )
    events = chat.respond("Count for me", context=context(), conversation_id="c7")
    async for event in events:
        if event.type == "token":
            break
    await events.aclose()  # type: ignore[attr-defined]
    hits = await memory.recall("Count for me", ["user:1"], kinds=[MemoryKind.CONVERSATION])
    assert not any(h.memory.session_id == "c7" for h in hits)


async def test_an_experiment_variant_sets_how_the_chat_recalls_memory(
    scripted_gateway: Any, invoker: ToolInvoker, memory: MemoryService, database: Database
) -> None:
    from sophia.gateway import ExperimentBook

    await memory.remember(
        "Ada prefers green tea in the morning", namespace="user:1", kind=MemoryKind.PREFERENCE
    )
    systems: list[str] = []

    def answer(body: dict[str, Any]) -> Any:
        systems.append(system_text(body))
        return "noted"

    gateway = scripted_gateway(answer)
    gateway.experiments = book = ExperimentBook(database)
    chat = ChatOrchestrator(AgentRunner(gateway, invoker), memory)
    seen: dict[str, bool] = {}
    for number in range(40):  # experiments until user 1 has sat in each arm once
        experiment = await book.create(
            f"recall-{number}", "creative", ["a=recall:none", "b=recall:hybrid,k:2"]
        )
        arm = experiment.assign("1")
        if arm is not None and arm.name not in seen:
            events = [
                e
                async for e in chat.respond(
                    "What tea do I like?",
                    context=context(),
                    conversation_id=f"c{number}",
                    model="sophia/creative",
                )
            ]
            assert events[-1].type == "final"
            seen[arm.name] = "green tea" in systems[-1]
        await book.stop(experiment.name)
        if len(seen) == 2:
            break
    assert seen == {"a": False, "b": True}
