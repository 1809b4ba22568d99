"""The coding loop end to end on a real repository: scripted model, real edits, real sandboxed pytest, real git."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sophia.accounts import Role
from sophia.agents import DirectSteps, RunLimits
from sophia.coding import (
    CodeSession,
    CodeTools,
    CodingOptions,
    CodingTask,
    InMemoryPullRequests,
    register_code_tools,
)
from sophia.coding._prompts import prompt_tokens
from sophia.gateway.providers import ScriptedProvider
from sophia.store import Database
from sophia.tools import ApprovalPolicy, ToolContext, ToolInvoker, ToolRegistry
from tests.agents.conftest import build_gateway
from tests.coding.conftest import FIX, git

WEAKEN = "test_calc.py\n<<<<<<< SEARCH\n    assert add(2, 3) == 5\n=======\n    pass\n>>>>>>> REPLACE\n"


def _script(replies: list[str]) -> Any:
    def answer(body: dict[str, Any]) -> str:
        system = str(body["messages"][0]["content"])
        if system.startswith("You review"):
            return "APPROVE"
        rounds = sum(1 for m in body["messages"] if m["role"] == "assistant")
        return replies[min(rounds, len(replies) - 1)]

    return answer


async def _task(
    database: Database,
    tmp_path: Path,
    source: Path,
    replies: list[str],
    pulls: InMemoryPullRequests,
    script: Any = None,
) -> tuple[CodingTask, ScriptedProvider]:
    remote = str(source.parent / "remote.git")
    provider = ScriptedProvider(script or _script(replies), name="scripted")
    gateway = build_gateway(database, provider)
    registry = register_code_tools(ToolRegistry(), CodeTools(pull_requests=pulls, github_repo="acme/calc"))
    policy = ApprovalPolicy({"code.*": {"*": "auto"}})
    invoker = ToolInvoker(registry, database, policy=policy)
    workspace = tmp_path / "workspace"
    context = ToolContext(user_id=1, user_name="ada", role=Role.MEMBER, run_id="run-1", workspace=workspace)
    session = CodeSession(gateway, invoker, DirectSteps(), context=context, limits=RunLimits(max_steps=40))
    return CodingTask(
        session, workspace, CodingOptions(source=str(source), remote=remote, max_attempts=3)
    ), provider


async def test_a_seeded_bug_is_fixed_committed_pushed_and_proposed_once(
    sqlite_db: Database, tmp_path: Path, buggy_repo: tuple[Path, Path]
) -> None:
    repo, remote = buggy_repo
    pulls = InMemoryPullRequests()
    task, _ = await _task(sqlite_db, tmp_path, repo, [FIX], pulls)

    result = await task.run("add() subtracts; fix it")

    assert result.status == "resolved", result.problems
    assert [c["status"] for c in result.checks_before] == ["failed"]
    assert [c["status"] for c in result.checks] == ["passed"]
    assert result.files == ["calc.py"] and result.edits_clean and result.tests_detected
    assert result.branch is not None and result.branch.startswith("sophia/add-subtracts")
    assert git(remote, "rev-parse", result.branch).strip() == result.commit
    assert "return a + b" in git(remote, "show", f"{result.branch}:calc.py")
    assert len((remote / "pushes.log").read_text().splitlines()) == 1
    assert len(pulls.pulls) == 1 and pulls.pulls[0][1].draft and pulls.pulls[0][0] == "acme/calc"
    assert (repo / "calc.py").read_text().count("a - b") == 1  # the user's checkout is never edited


async def test_a_refused_edit_is_fed_back_and_the_next_attempt_lands(
    sqlite_db: Database, tmp_path: Path, buggy_repo: tuple[Path, Path]
) -> None:
    repo, _ = buggy_repo
    wrong = "calc.py\n<<<<<<< SEARCH\n    return a * b\n=======\n    return a + b\n>>>>>>> REPLACE\n"
    task, provider = await _task(sqlite_db, tmp_path, repo, [wrong, FIX], InMemoryPullRequests())
    task.options = CodingOptions(source=str(repo), push=False, max_attempts=3)

    result = await task.run("add() subtracts; fix it")

    assert result.status == "resolved" and result.attempts == 2 and result.refused == 1
    assert [(o["attempt"], o["solved"]) for o in result.model_outcomes] == [(1, False), (2, True)]
    feedback = [m["content"] for m in provider.calls[1]["messages"] if m["role"] == "user"][-1]
    assert "not found in calc.py" in feedback and "return a - b" in feedback


async def test_weakening_a_test_to_pass_is_flagged_and_never_counts_as_resolved(
    sqlite_db: Database, tmp_path: Path, buggy_repo: tuple[Path, Path]
) -> None:
    repo, remote = buggy_repo
    task, _ = await _task(sqlite_db, tmp_path, repo, [WEAKEN], InMemoryPullRequests())

    result = await task.run("make the tests pass")

    assert result.status == "failed" and result.attempts == 3
    assert result.weakened == ["test_calc.py: tests 2 -> 2, assertions 2 -> 1"]
    assert result.branch is None and not (remote / "pushes.log").exists()


async def test_each_attempts_outcome_reaches_the_gateways_outcome_hook_once(
    sqlite_db: Database, tmp_path: Path, buggy_repo: tuple[Path, Path]
) -> None:
    """The routing-from-outcomes gateway exposes `record_outcome(request_id, score, source=)`; a gateway
    built here with that hook receives one outcome per edit, against the ledger's request ids."""
    repo, _ = buggy_repo
    wrong = "calc.py\n<<<<<<< SEARCH\n    return a * b\n=======\n    return a + b\n>>>>>>> REPLACE\n"
    task, provider = await _task(sqlite_db, tmp_path, repo, [wrong, FIX], InMemoryPullRequests())
    task.options = CodingOptions(source=str(repo), push=False, max_attempts=3)
    received: list[tuple[str, float, str]] = []

    async def record_outcome(request_id: str, score: float, *, source: str = "feedback") -> tuple[str, str]:
        received.append((request_id, score, source))
        return "coding", "scripted"

    task.session.gateway.record_outcome = record_outcome  # type: ignore[union-attr]
    result = await task.run("add() subtracts; fix it")

    assert result.status == "resolved"
    assert [(score, source) for _, score, source in received] == [(0.0, "run"), (1.0, "run")]
    assert len({request_id for request_id, _, _ in received}) == 2
    outcome_steps = [r for r in task.session.records if r.name == "gateway.outcome"]
    assert [r.status for r in outcome_steps] == ["ok", "ok"]


async def test_with_a_small_window_later_rounds_are_cut_so_every_prompt_fits(
    sqlite_db: Database, tmp_path: Path, buggy_repo: tuple[Path, Path]
) -> None:
    """A 2k-token model: the long refused edit of round one is left out of round three's prompt, while the
    system and task messages stay, so no prompt exceeds the window the model would refuse."""
    repo, _ = buggy_repo
    long_wrong = "calc.py\n<<<<<<< SEARCH\n" + "    x = 1\n" * 400 + "=======\n    pass\n>>>>>>> REPLACE\n"
    replies = iter([long_wrong, long_wrong, FIX])

    prompts: list[list[dict[str, str]]] = []  # as sent (the loop goes on appending to its own list)

    def script(body: dict[str, Any]) -> str:
        if "You review" in str(body["messages"][0]):
            return "APPROVE"
        prompts.append([dict(m) for m in body["messages"]])
        return next(replies)

    task, _ = await _task(sqlite_db, tmp_path, repo, [], InMemoryPullRequests(), script)
    task.session.limits = RunLimits(
        max_steps=40, max_cost_usd=100.0
    )  # the scripted model's long replies cost
    task.options = CodingOptions(source=str(repo), push=False, max_attempts=3, context_tokens=2048)

    result = await task.run("add() subtracts; fix it")

    assert result.status == "resolved" and result.attempts == 3, (result.problems, result.attempts)
    assert len(prompts) == 3 and all(prompt_tokens(m) + 768 <= 2048 for m in prompts)
    assert all(m[:2] == prompts[0][:2] for m in prompts)  # the system and task messages always stay
    assert prompts[1][-1]["role"] == "user" and "not found" in prompts[1][-1]["content"]  # the feedback stays
    assert long_wrong not in [m["content"] for m in prompts[2]]  # round one's long edit was cut
