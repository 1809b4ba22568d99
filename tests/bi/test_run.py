"""The `bi` run kind: each model call and the query is a step; a run resumed after a crash replays the steps it
had finished (the planning model call is not made again) and finishes the rest. `sophia run --agent bi` queues it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sophia.accounts import Role
from sophia.agents import RunLimits, StepFunction, StepRecord
from sophia.bi import BiRun, BiService
from sophia.business import BusinessStore
from sophia.gateway.providers import ScriptedProvider
from sophia.runs import KindCall
from sophia.store import Database
from sophia.tools import ToolContext
from tests.agents.conftest import build_gateway
from tests.bi.scripted import WON, bi_script
from tests.business.generator import generate
from tests.serving import clean_env, sophia

pytestmark = pytest.mark.timeout(600)  # a generated business on a loaded machine


class ReplaySteps:
    """A step store that outlives one execution, as DBOS's checkpoints do: a finished step is replayed."""

    def __init__(self) -> None:
        self.kept: dict[tuple[int, str], dict[str, Any]] = {}
        self.records: list[StepRecord] = []

    async def run_step(self, seq: int, name: str, function: StepFunction, *, once: bool) -> dict[str, Any]:
        if (seq, name) not in self.kept:
            self.kept[(seq, name)] = await function()
        return self.kept[(seq, name)]

    async def wait_for_decision(self, approval_id: str, check: Callable[[], Any]) -> str:
        raise AssertionError("a bi run never waits for an approval")

    async def record(self, step: StepRecord) -> None:
        self.records.append(step)


class Crash(Exception):
    pass


async def test_a_resumed_bi_run_does_not_repeat_the_finished_model_call(database: Database) -> None:
    business = generate(2, "small")
    await BusinessStore(database).upsert(business.entities())
    crash = {"armed": True}

    def script(body: dict[str, Any]) -> Any:
        if str(body["messages"][0]["content"]).startswith("Write the answer") and crash["armed"]:
            crash["armed"] = False
            raise Crash("the worker died while the model was wording the answer")
        return bi_script(body)

    provider = ScriptedProvider(script, name="scripted")
    gateway = build_gateway(database, provider)
    executor = BiRun(BiService(database, Path("."), gateway), model="scripted")
    steps = ReplaySteps()
    context = ToolContext(user_id=1, user_name="ada", role=Role.MEMBER, run_id="run-bi")
    call = KindCall("run-bi", WON, {}, RunLimits(), context, steps)
    try:
        with pytest.raises(Exception, match="died|scripted|provider"):
            await executor(call)
        assert sorted(name for _, name in steps.kept) == ["model:plan", "query"]
        before = len(provider.calls)
        outcome = await executor(call)  # the resumed run
    finally:
        await gateway.aclose()
    resumed = provider.calls[before:]
    assert [str(b["messages"][0]["content"])[:16] for b in resumed] == ["Write the answer"]
    answer = json.loads(outcome.output)
    assert outcome.status == "succeeded" and answer["answered"]
    assert answer["text"] == f"{sum(d.is_won for d in business.deals)} deals were won."
    assert {r.name for r in steps.records} == {"model:plan", "query", "model:answer"}


def test_sophia_run_agent_bi_queues_a_bi_run(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = clean_env(home)
    sophia(env, "run", WON, "--detach", "--agent", "bi")
    (run,) = json.loads(sophia(env, "runs", "list", "--json").stdout)
    assert (run["agent"], run["task"], run["status"]) == ("bi", WON, "queued")
