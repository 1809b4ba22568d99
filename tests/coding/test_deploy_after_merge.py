"""Deploy after merge and approval: the coding loop on a real repository opens its draft pull request, polls it
(each poll a run step) until a person merges it, then the held `code.deploy` runs the configured command only once
approved, verifies the real health URL on 127.0.0.1 and rolls back when it fails."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from sophia.accounts import Principal, Role
from sophia.agents import DirectSteps, RunLimits, StepFunction
from sophia.coding import (
    CodeSession,
    CodeTools,
    CodingOptions,
    CodingTask,
    Deployer,
    Deploys,
    InMemoryPullRequests,
    code_tools_for,
    register_code_tools,
)
from sophia.config import Settings
from sophia.gateway.providers import ScriptedProvider
from sophia.store import Database
from sophia.tools import ApprovalPolicy, ToolContext, ToolInvoker, ToolRegistry
from tests.agents.conftest import build_gateway
from tests.coding.conftest import FIX
from tests.connectors.infra_kit import connect
from tests.connectors.openapi import SpecService
from tests.connectors.test_fly import MACHINES, SPEC, TOKEN, _routes

ADMIN = Principal(2, "grace", Role.ADMIN, None, ("*",), Decimal("0"))


@pytest.fixture
def health() -> Iterator[tuple[str, dict[str, int]]]:
    from tests.serving import serve_app

    state = {"status": 200}
    app = FastAPI()

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        return JSONResponse({"ok": state["status"] == 200}, state["status"])

    with serve_app(app) as url:
        yield f"{url}/healthz", state


class MergingSteps(DirectSteps):
    """Direct steps that keep every step's output (a resumed run replays them, as DBOS does) and act as the
    people: after `merge_after` polls the PR is settled; a held call is decided by `decision`."""

    def __init__(
        self,
        pulls: InMemoryPullRequests,
        *,
        settle: str = "merged",
        merge_after: int = 2,
        decision: str = "approve",
    ) -> None:
        super().__init__()
        self.pulls, self.settle, self.merge_after, self.decision = pulls, settle, merge_after, decision
        self.kept: dict[int, dict[str, Any]] = {}
        self.polls = 0
        self.invoker: ToolInvoker | None = None

    async def run_step(self, seq: int, name: str, function: StepFunction, *, once: bool) -> dict[str, Any]:
        if seq in self.kept and not name.endswith(":approved"):
            return self.kept[seq]
        if name.startswith("tool:code.pr_state"):
            self.polls += 1
            if self.polls == self.merge_after and self.pulls.pulls:
                self.pulls.settle(self.pulls.pulls[0][1].number, self.settle)
        data = await function()
        if not name.endswith(":approved"):
            self.kept[seq] = data
        return data

    async def wait_for_decision(self, approval_id: str, check: Callable[[], Awaitable[str]]) -> str:
        assert self.invoker is not None
        if self.decision == "approve":
            await self.invoker.approve(approval_id, ADMIN)
        return await check()


async def _task(
    database: Database, tmp_path: Path, source: Path, steps: MergingSteps, deployer: Deploys
) -> CodingTask:
    provider = ScriptedProvider(
        lambda body: "APPROVE" if "review" in str(body["messages"][0]["content"]).lower()[:20] else FIX,
        name="scripted",
    )
    gateway = build_gateway(database, provider)
    tools = CodeTools(pull_requests=steps.pulls, github_repo="acme/calc", deployer=deployer)
    registry = register_code_tools(ToolRegistry(), tools)
    policy = ApprovalPolicy({"code.*": {"*": "auto"}, "code.deploy": {"*": "ask"}})
    invoker = ToolInvoker(registry, database, policy=policy)
    steps.invoker = invoker
    workspace = tmp_path / "workspace"
    context = ToolContext(user_id=1, user_name="ada", role=Role.MEMBER, run_id="run-1", workspace=workspace)
    session = CodeSession(gateway, invoker, steps, context=context, limits=RunLimits(max_steps=60))
    options = CodingOptions(
        source=str(source), remote=str(source.parent / "remote.git"), max_attempts=2, deploy=True,
        merge_poll_seconds=0.05, merge_wait_seconds=30,
    )  # fmt: skip
    return CodingTask(session, workspace, options)


def _deployer(tmp_path: Path, health_url: str) -> Deployer:
    log = tmp_path / "deploys.log"
    return Deployer(f"echo deploy >> {log}", health_url, f"echo rollback >> {log}", health_seconds=1.0)


def _log(tmp_path: Path) -> list[str]:
    path = tmp_path / "deploys.log"
    return path.read_text().split() if path.exists() else []


async def test_no_deploy_before_the_merge_then_one_approved_deploy_after_it(
    sqlite_db: Database, tmp_path: Path, buggy_repo: tuple[Path, Path], health: tuple[str, dict[str, int]]
) -> None:
    repo, _ = buggy_repo
    pulls = InMemoryPullRequests()
    steps = MergingSteps(pulls, merge_after=3)
    result = await (await _task(sqlite_db, tmp_path, repo, steps, _deployer(tmp_path, health[0]))).run(
        "add() subtracts; fix it"
    )

    assert result.pull_request is not None and result.deploy is not None
    assert steps.polls == 3  # open, open, merged: the deploy waited for the merge
    assert result.deploy["status"] == "deployed" and result.deploy["health_status"] == 200
    assert _log(tmp_path) == ["deploy"]


async def test_a_pull_request_closed_without_merging_is_never_deployed(
    sqlite_db: Database, tmp_path: Path, buggy_repo: tuple[Path, Path], health: tuple[str, dict[str, int]]
) -> None:
    repo, _ = buggy_repo
    steps = MergingSteps(InMemoryPullRequests(), settle="closed", merge_after=2)
    result = await (await _task(sqlite_db, tmp_path, repo, steps, _deployer(tmp_path, health[0]))).run(
        "add() subtracts; fix it"
    )

    assert result.deploy == {"status": "not_deployed", "pull_request": "closed"}
    assert _log(tmp_path) == []


async def test_a_merged_pull_request_is_not_deployed_without_approval(
    sqlite_db: Database, tmp_path: Path, buggy_repo: tuple[Path, Path], health: tuple[str, dict[str, int]]
) -> None:
    repo, _ = buggy_repo
    steps = MergingSteps(InMemoryPullRequests(), merge_after=1, decision="none")
    result = await (await _task(sqlite_db, tmp_path, repo, steps, _deployer(tmp_path, health[0]))).run(
        "add() subtracts; fix it"
    )

    assert result.deploy == {"status": "waiting_approval"}
    assert _log(tmp_path) == []


async def test_a_failed_health_check_after_the_merge_rolls_back(
    sqlite_db: Database, tmp_path: Path, buggy_repo: tuple[Path, Path], health: tuple[str, dict[str, int]]
) -> None:
    repo, _ = buggy_repo
    health[1]["status"] = 503
    steps = MergingSteps(InMemoryPullRequests(), merge_after=1)
    result = await (await _task(sqlite_db, tmp_path, repo, steps, _deployer(tmp_path, health[0]))).run(
        "add() subtracts; fix it"
    )

    assert result.deploy is not None and result.deploy["status"] == "rolled_back"
    assert result.deploy["health_status"] == 503
    assert _log(tmp_path) == ["deploy", "rollback"]


async def test_a_run_resumed_after_a_kill_during_the_wait_replays_its_polls_and_deploys_once(
    sqlite_db: Database, tmp_path: Path, buggy_repo: tuple[Path, Path], health: tuple[str, dict[str, int]]
) -> None:
    repo, _ = buggy_repo
    pulls = InMemoryPullRequests()
    steps = MergingSteps(pulls, merge_after=4)
    first = asyncio.create_task(
        (await _task(sqlite_db, tmp_path, repo, steps, _deployer(tmp_path, health[0]))).run(
            "add() subtracts; fix it"
        )
    )
    while steps.polls < 2:
        await asyncio.sleep(0.01)
    first.cancel()  # killed while waiting for the merge
    with pytest.raises(asyncio.CancelledError):
        await first
    assert _log(tmp_path) == []

    kept_polls = steps.polls
    result = await (await _task(sqlite_db, tmp_path, repo, steps, _deployer(tmp_path, health[0]))).run(
        "add() subtracts; fix it"
    )

    assert result.deploy is not None and result.deploy["status"] == "deployed"
    assert steps.polls == 4 and kept_polls == 2  # the two recorded polls were replayed, not asked again
    assert len(pulls.pulls) == 1 and _log(tmp_path) == ["deploy"]


def _fly_deploy(tmp_path: Path, service: SpecService, health_url: str) -> Deploys:
    """`[coding] deploy = "fly:web"` built as every shell builds it, on a Fly connector speaking to the stand-in."""
    fly = connect(tmp_path / "home", "fly", TOKEN, service, options={"org_slug": "personal"})
    coding = {
        "deploy": "fly:web",
        "deploy_image": "registry.fly.io/web:v2",
        "deploy_health_url": health_url,
        "deploy_health_seconds": 1.0,
    }
    deployer = code_tools_for(Settings(home=tmp_path / "home", coding=coding), connectors=[fly]).deployer
    assert deployer is not None
    return deployer


def _images(service: SpecService) -> list[str]:
    updates = [r for r in service.requests if r.method == "POST" and r.url.path.split("/")[-2] == "machines"]
    return [json.loads(r.content)["config"]["image"] for r in updates]


async def test_a_merged_and_approved_run_deploys_through_the_fly_connector_under_leases(
    sqlite_db: Database, tmp_path: Path, buggy_repo: tuple[Path, Path], health: tuple[str, dict[str, int]]
) -> None:
    repo, _ = buggy_repo
    service = SpecService(SPEC, _routes())
    steps = MergingSteps(InMemoryPullRequests(), merge_after=2)
    deployer = _fly_deploy(tmp_path, service, health[0])
    result = await (await _task(sqlite_db, tmp_path, repo, steps, deployer)).run("add() subtracts; fix it")

    assert result.deploy is not None and result.deploy["status"] == "deployed", result.deploy
    assert _images(service) == ["registry.fly.io/web:v2"] * len(MACHINES)
    assert len(service.sent("POST", "/lease")) == len(service.sent("DELETE", "/lease")) == len(MACHINES)


async def test_an_unhealthy_fly_deploy_is_put_back_on_the_previous_image(
    sqlite_db: Database, tmp_path: Path, buggy_repo: tuple[Path, Path], health: tuple[str, dict[str, int]]
) -> None:
    repo, _ = buggy_repo
    health[1]["status"] = 503
    service = SpecService(SPEC, _routes())
    steps = MergingSteps(InMemoryPullRequests(), merge_after=1)
    deployer = _fly_deploy(tmp_path, service, health[0])
    result = await (await _task(sqlite_db, tmp_path, repo, steps, deployer)).run("add() subtracts; fix it")

    assert result.deploy is not None and result.deploy["status"] == "rolled_back", result.deploy
    old = MACHINES[0]["config"]["image"]
    assert _images(service) == ["registry.fly.io/web:v2"] * len(MACHINES) + [old] * len(MACHINES)


async def test_the_merge_is_read_through_the_github_connectors_pulls_get(tmp_path: Path) -> None:
    from sophia.coding import github_delivery
    from sophia.config import ConnectorSettings
    from sophia.connectors import build_connector
    from sophia.secrets import SecretResolver
    from tests.connectors.github_standin import TOKEN as GH_TOKEN
    from tests.connectors.github_standin import GitHubStandIn
    from tests.serving import serve_app

    service = GitHubStandIn()
    with serve_app(service.app()) as url:
        settings = ConnectorSettings(kind="github", base_url=url, credentials={"token": "env:GH_TOKEN"})
        github = build_connector("github", settings, SecretResolver(tmp_path, environ={"GH_TOKEN": GH_TOKEN}))
        try:
            delivery = github_delivery([github], None)
            assert delivery is not None
            pull = await delivery.open_pull_request(
                "acme/calc", title="Fix add", body="b", head="fix", base="main"
            )
            assert await delivery.pull_state("acme/calc", pull.number) == "open"
            service.pulls[0].update(merged=True, state="closed")  # a person merges it on GitHub
            assert await delivery.pull_state("acme/calc", pull.number) == "merged"
            service.pulls[0].update(merged=False)
            assert await delivery.pull_state("acme/calc", pull.number) == "closed"
        finally:
            await github.aclose()
    assert service.mismatches == []


def test_sophia_toml_turns_the_wait_and_deploy_on_for_code_runs(
    buggy_repo: tuple[Path, Path], tmp_path: Path
) -> None:
    from pydantic import ValidationError

    from sophia.coding import DeliveryFailed, code_run_options

    repo, _ = buggy_repo
    home = tmp_path / "home"
    plain = code_run_options(str(repo), settings=Settings(home=home))
    assert plain["deploy"] is False
    on = Settings(home=home, coding={"deploy_command": "true", "merge_poll_seconds": 5})
    assert code_run_options(str(repo), settings=on) | {"deploy": True, "merge_poll_seconds": 5} == (
        code_run_options(str(repo), settings=on)
    )
    off = Settings(home=home, coding={"deploy_command": "true", "deploy_after_merge": False})
    assert code_run_options(str(repo), settings=off)["deploy"] is False
    assert code_run_options(str(repo), settings=on, push=False)["deploy"] is False
    with pytest.raises(ValidationError):
        Settings(home=home, coding={"deploy": "no-app-given"})
    with pytest.raises(DeliveryFailed, match="names no Fly.io connector"):
        code_tools_for(Settings(home=home, coding={"deploy": "fly:web", "deploy_image": "x"}))
