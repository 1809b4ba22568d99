"""`sophia code` with `[coding] deploy = "fly:web"` as a real process: it fixes the bug, pushes, opens the draft PR
(`--approve` approves push and PR only), polls the PR until the GitHub stand-in merges it, holds `code.deploy` until
`sophia approvals approve` (another process) decides it, rolls the image of the run's commit out through the Fly
stand-in over HTTP, checks the real health URL, and rolls each machine back to its own image when it stays unhealthy."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from tests.coding.conftest import FIX, git
from tests.coding.fly_standin import OLD_IMAGES, fly_service, images_sent
from tests.coding.standins import MODEL_KEY, CoderStandIn, sophia_toml
from tests.connectors.github_standin import TOKEN, GitHubStandIn
from tests.connectors.openapi import SpecService, spec_app
from tests.connectors.test_fly import TOKEN as FLY_TOKEN
from tests.serving import clean_env, serve_app, sophia, sophia_process

# A real `sophia` process with its worker starts first, slow on a loaded machine.
pytestmark = pytest.mark.timeout(600)


class World:
    def __init__(self) -> None:
        self.coder, self.github, self.fly = CoderStandIn(FIX), GitHubStandIn(), fly_service()
        self.health = {"status": 200}
        self.urls: dict[str, str] = {}

    def health_app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/healthz")
        async def healthz() -> JSONResponse:
            return JSONResponse({"ok": self.health["status"] == 200}, self.health["status"])

        return app


@pytest.fixture
def world() -> Iterator[World]:
    made = World()
    with (
        serve_app(made.coder.app()) as model,
        serve_app(made.github.app()) as github,
        serve_app(spec_app(made.fly)) as fly,
        serve_app(made.health_app()) as health,
    ):
        made.urls = {"model": model, "github": github, "fly": fly, "health": f"{health}/healthz"}
        yield made


def _config(world: World, remote: Path) -> str:
    coding = f"""deploy = "fly:web"
deploy_image = "registry.fly.io/web:{{sha}}"
deploy_health_url = "{world.urls["health"]}"
deploy_health_seconds = 2
merge_poll_seconds = 0.3
merge_wait_seconds = 300"""
    fly = f"""
[connectors.fly]
kind = "fly"
base_url = "{world.urls["fly"]}/v1"
credentials = {{ token = "env:FLY_TOKEN" }}
options = {{ org_slug = "personal" }}
"""
    return sophia_toml(world.urls["model"], world.urls["github"], str(remote), coding=coding, extra=fly)


def _wait(what: str, condition: object, log: Path, seconds: float = 240) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}:\n{log.read_text()[-4000:]}"
        time.sleep(0.2)


def _deploy_through_sophia_code(tmp_path: Path, repo: Path, remote: Path, world: World) -> tuple[int, str]:
    home = tmp_path / "home"
    home.mkdir()
    (home / "sophia.toml").write_text(_config(world, remote))
    env = clean_env(home, CODER_KEY=MODEL_KEY, GH_TOKEN=TOKEN, FLY_TOKEN=FLY_TOKEN, COLUMNS="200")
    log = tmp_path / "code.log"
    task = ("code", "add() subtracts; fix it", "--repo", str(repo), "--approve")
    with sophia_process(env, log, *task) as process:
        _wait("the draft pull request", lambda: bool(world.github.pulls), log)
        time.sleep(1.0)  # polls of the open pull request: nothing may be deployed yet
        assert images_sent(world.fly) == [] and "code.deploy" not in log.read_text()
        world.github.pulls[0].update(merged=True, state="closed")  # a person merges it on GitHub
        held = re.compile(r"waiting for approval of code\.deploy:\s+`sophia runs approve\s+(\w+)`")
        _wait("the held deploy", lambda: held.search(log.read_text()), log)
        time.sleep(0.5)
        assert images_sent(world.fly) == []  # merged, but not approved: still nothing rolled out
        found = held.search(log.read_text())
        assert found is not None
        approved = sophia(env, "approvals", "approve", found.group(1), check=False)
        assert approved.returncode == 0, approved.stdout + approved.stderr
        process.wait(240)
    said = log.read_text()
    assert TOKEN not in said and FLY_TOKEN not in said
    return process.returncode, said


def _sha(remote: Path, said: str) -> str:
    branch = next(line.split()[1] for line in said.splitlines() if line.startswith("branch sophia/"))
    return git(remote, "rev-parse", branch).strip()


def _creates(github: GitHubStandIn) -> int:
    return len([r for r in github.received if r[:2] == ("POST", "/repos/octo/app/pulls")])


def _checked(service: SpecService) -> None:
    assert all(r.headers["authorization"] == f"Bearer {FLY_TOKEN}" for r in service.requests)


def test_sophia_code_deploys_the_merged_commit_after_approval(
    tmp_path: Path, buggy_repo: tuple[Path, Path], world: World
) -> None:
    repo, remote = buggy_repo
    code, said = _deploy_through_sophia_code(tmp_path, repo, remote, world)

    assert code == 0, said[-4000:]
    image = f"registry.fly.io/web:{_sha(remote, said)}"
    assert f"deploy: deployed {image} (health 200)" in said
    assert images_sent(world.fly) == [(machine, image) for machine in OLD_IMAGES]
    assert len((remote / "pushes.log").read_text().splitlines()) == 1 and _creates(world.github) == 1
    _checked(world.fly)
    assert world.github.mismatches == []


def test_sophia_code_rolls_each_machine_back_when_the_health_url_stays_unhealthy(
    tmp_path: Path, buggy_repo: tuple[Path, Path], world: World
) -> None:
    repo, remote = buggy_repo
    world.health["status"] = 503
    code, said = _deploy_through_sophia_code(tmp_path, repo, remote, world)

    assert code == 1, said[-4000:]
    image = f"registry.fly.io/web:{_sha(remote, said)}"
    assert f"deploy: rolled_back {image} (health 503)" in said and "problem: the deploy rolled back" in said
    rolled_out = [(machine, image) for machine in OLD_IMAGES]
    assert images_sent(world.fly) == rolled_out + list(OLD_IMAGES.items())  # each back on its own image
    assert len((remote / "pushes.log").read_text().splitlines()) == 1 and _creates(world.github) == 1
    _checked(world.fly)
