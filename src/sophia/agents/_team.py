"""Teams: a planner splits the task, specialists execute, a reviewer accepts or sends back; and consensus.

Every loop is bounded (review rounds, plan length), and all members share one run's limits and cost.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from sophia.agents._model import AgentResult, AgentSpec, StepRecord
from sophia.agents._runner import RunSession

__all__ = ["ConsensusResult", "PlanStep", "Team", "TeamResult", "consensus", "parse_plan"]

_MAX_PLAN_STEPS = 8
_PICK = re.compile(r"^\s*PICK\s+(\d+)\s*$", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True, slots=True)
class PlanStep:
    agent: str
    task: str


@dataclass(slots=True)
class TeamResult:
    output: str
    accepted: bool
    rounds: int
    plan: list[PlanStep]
    results: list[AgentResult]
    steps: list[StepRecord] = field(default_factory=list)
    cost_usd: float = 0.0


@dataclass(slots=True)
class ConsensusResult:
    output: str
    picked: int | None  # index of the chosen answer, None when the judge merged them
    answers: list[AgentResult]
    cost_usd: float = 0.0


def parse_plan(text: str, executors: list[str]) -> list[PlanStep]:
    """Read `{"steps": [{"agent", "task"}]}` (or a JSON list), else one step per non-empty line.

    A step naming an unknown specialist goes to the first one, so a sloppy plan still runs.
    """
    default = executors[0]
    found = _json_steps(text)
    if found is None:
        lines = [re.sub(r"^\s*(?:[-*]|\d+[.)])\s*", "", line).strip() for line in text.splitlines()]
        found = [{"agent": default, "task": line} for line in lines if line]
    steps = []
    for item in found[:_MAX_PLAN_STEPS]:
        agent = str(item.get("agent") or default)
        task = str(item.get("task") or "").strip()
        if task:
            steps.append(PlanStep(agent if agent in executors else default, task))
    return steps


def _json_steps(text: str) -> list[dict[str, object]] | None:
    start = min((i for i in (text.find("{"), text.find("[")) if i >= 0), default=-1)
    if start < 0:
        return None
    try:
        data = json.loads(text[start : max(text.rfind("}"), text.rfind("]")) + 1])
    except ValueError:
        return None
    items = data.get("steps") if isinstance(data, dict) else data
    if not isinstance(items, list):
        return None
    return [item if isinstance(item, dict) else {"task": str(item)} for item in items]


class Team:
    """planner -> executors (in plan order, each seeing earlier results) -> reviewer, at most `max_rounds`."""

    def __init__(
        self,
        planner: AgentSpec,
        executors: list[AgentSpec],
        reviewer: AgentSpec,
        *,
        max_rounds: int = 2,
    ) -> None:
        if not executors:
            raise ValueError("a team needs at least one executor")
        self.planner = planner
        self.executors = {spec.name: spec for spec in executors}
        self.reviewer = reviewer
        self.max_rounds = max(1, max_rounds)

    async def run(self, session: RunSession, task: str, *, lessons: list[str] | None = None) -> TeamResult:
        first = len(session.state.records)
        cost = session.state.cost_usd
        feedback = ""
        results: list[AgentResult] = []
        plan: list[PlanStep] = []
        accepted, rounds, output = False, 0, ""
        while rounds < self.max_rounds and not accepted:
            rounds += 1
            planned = await session.run(self.planner, self._planner_prompt(task, lessons or [], feedback))
            plan = parse_plan(planned.output, list(self.executors)) or [
                PlanStep(next(iter(self.executors)), task)
            ]
            results = await self._execute(session, task, plan)
            output = results[-1].output
            review = await session.run(self.reviewer, self._review_prompt(task, plan, results))
            accepted, feedback = _verdict(review.output)
        return TeamResult(
            output,
            accepted,
            rounds,
            plan,
            results,
            session.state.records[first:],
            session.state.cost_usd - cost,
        )

    async def _execute(self, session: RunSession, task: str, plan: list[PlanStep]) -> list[AgentResult]:
        results: list[AgentResult] = []
        for step in plan:
            earlier = "\n\n".join(f"[{r.agent}] {r.output}" for r in results)
            prompt = f"Overall task: {task}\nYour part: {step.task}"
            if earlier:
                prompt += f"\n\nResults so far:\n{earlier}"
            results.append(await session.run(self.executors[step.agent], prompt))
        return results

    def _planner_prompt(self, task: str, lessons: list[str], feedback: str) -> str:
        specialists = "\n".join(
            f"- {name}: {spec.instructions[:200]}" for name, spec in self.executors.items()
        )
        prompt = (
            f"Task: {task}\n\nSpecialists:\n{specialists}\n\n"
            'Answer with JSON {"steps": [{"agent": "<specialist>", "task": "<what to do>"}]}.'
        )
        if lessons:
            prompt += "\n\nOutcomes of similar earlier runs (avoid their mistakes):\n" + "\n---\n".join(
                lessons
            )
        if feedback:
            prompt += f"\n\nThe reviewer sent the last attempt back: {feedback}"
        return prompt

    @staticmethod
    def _review_prompt(task: str, plan: list[PlanStep], results: list[AgentResult]) -> str:
        work = "\n\n".join(f"[{s.agent}] {s.task}\n=> {r.output}" for s, r in zip(plan, results, strict=True))
        return (
            f"Task: {task}\n\nWork done:\n{work}\n\n"
            "Reply ACCEPT if the work answers the task, otherwise REVISE: <what to fix>."
        )


def _verdict(text: str) -> tuple[bool, str]:
    stripped = text.strip()
    if stripped.upper().startswith("ACCEPT"):
        return True, ""
    return False, stripped.removeprefix("REVISE:").strip() or stripped


async def consensus(
    session: RunSession, members: list[AgentSpec], judge: AgentSpec, task: str
) -> ConsensusResult:
    """Each member answers on its own; the judge replies `PICK n` or writes a merged answer."""
    cost = session.state.cost_usd
    answers = [await session.run(member, task) for member in members]
    listed = "\n\n".join(f"Answer {i + 1} ({a.agent}):\n{a.output}" for i, a in enumerate(answers))
    verdict = await session.run(
        judge,
        f"Task: {task}\n\n{listed}\n\nReply 'PICK <n>' for the best answer, or write one merged better answer.",
    )
    match = _PICK.search(verdict.output)
    if match and 1 <= int(match.group(1)) <= len(answers):
        index = int(match.group(1)) - 1
        return ConsensusResult(answers[index].output, index, answers, session.state.cost_usd - cost)
    return ConsensusResult(verdict.output, None, answers, session.state.cost_usd - cost)
