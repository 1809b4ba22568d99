"""A Fly deploy per commit: `[coding] deploy_image = "registry.fly.io/web:{sha}"` rolls each deploy to the image of
the workspace's commit, and an unhealthy one puts each machine back on the image IT ran before (the two machines of
the stand-in run different images). Built from `[coding]` as every shell builds it, on the Machines API stand-in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from sophia.coding import Deploys, code_tools_for, image_for
from sophia.config import Settings
from sophia.connectors import Connector
from tests.coding.conftest import git
from tests.coding.fly_standin import OLD_IMAGES, fly_service, images_sent
from tests.connectors.infra_kit import connect
from tests.connectors.openapi import SpecService
from tests.connectors.test_fly import TOKEN
from tests.serving import serve_app


@pytest.fixture
def health() -> Iterator[tuple[str, dict[str, int]]]:
    state = {"status": 200}
    app = FastAPI()

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        return JSONResponse({"ok": state["status"] == 200}, state["status"])

    with serve_app(app) as url:
        yield f"{url}/healthz", state


def _deployer(home: Path, fly: Connector, health_url: str, image: str) -> Deploys:
    coding = {
        "deploy": "fly:web",
        "deploy_image": image,
        "deploy_health_url": health_url,
        "deploy_health_seconds": 1.0,
    }
    deployer = code_tools_for(Settings(home=home, coding=coding), connectors=[fly]).deployer
    assert deployer is not None
    return deployer


def _commit(repo: Path, text: str) -> str:
    (repo / "calc.py").write_text(text)
    git(repo, "commit", "-q", "-am", "change")
    return git(repo, "rev-parse", "HEAD").strip()


async def test_each_deploy_rolls_to_the_image_of_its_commit(
    tmp_path: Path, buggy_repo: tuple[Path, Path], health: tuple[str, dict[str, int]]
) -> None:
    repo, _ = buggy_repo
    service = fly_service()
    fly = connect(tmp_path / "home", "fly", TOKEN, service, options={"org_slug": "personal"})
    deployer = _deployer(tmp_path / "home", fly, health[0], "registry.fly.io/web:{sha}")
    first_sha = git(repo, "rev-parse", "HEAD").strip()

    first = await deployer.deploy(repo)
    second_sha = _commit(repo, "def add(a, b):\n    return a + b\n")
    second = await deployer.deploy(repo)

    assert (first.status, second.status) == ("deployed", "deployed")
    assert (
        first.image == f"registry.fly.io/web:{first_sha}"
        and second.image == f"registry.fly.io/web:{second_sha}"
    )
    machines = list(OLD_IMAGES)
    assert images_sent(service) == [(m, first.image) for m in machines] + [
        (m, second.image) for m in machines
    ]
    assert first.to_record()["image"] == first.image
    await fly.aclose()


async def test_an_unhealthy_deploy_puts_each_machine_back_on_its_own_image(
    tmp_path: Path, buggy_repo: tuple[Path, Path], health: tuple[str, dict[str, int]]
) -> None:
    repo, _ = buggy_repo
    health[1]["status"] = 503
    service: SpecService = fly_service()
    fly = connect(tmp_path / "home", "fly", TOKEN, service, options={"org_slug": "personal"})
    deployer = _deployer(tmp_path / "home", fly, health[0], "registry.fly.io/web:{short_sha}")
    sha = git(repo, "rev-parse", "HEAD").strip()

    result = await deployer.deploy(repo)

    new = f"registry.fly.io/web:{sha[:12]}"
    assert result.status == "rolled_back" and result.health_status == 503 and result.image == new
    rolled = [(m, new) for m in OLD_IMAGES] + list(OLD_IMAGES.items())
    assert images_sent(service) == rolled  # v1 back on the first machine, v0 on the second
    listed = {m["id"]: m["image"] for m in await fly.machines("web")}  # type: ignore[attr-defined]
    assert listed == OLD_IMAGES
    assert "3d8d9014b32e89 back on registry.fly.io/web:v1" in result.output
    assert len(service.sent("POST", "/lease")) == len(service.sent("DELETE", "/lease")) == 4
    await fly.aclose()


def test_a_deploy_image_naming_anything_but_the_commit_is_refused(tmp_path: Path) -> None:
    for bad in ("registry.fly.io/web:{branch}", "registry.fly.io/web:{sha"):
        with pytest.raises(ValidationError, match="deploy_image"):
            Settings(home=tmp_path, coding={"deploy": "fly:web", "deploy_image": bad})
    assert image_for("r/web:{short_sha}-{sha}", "a" * 40) == f"r/web:{'a' * 12}-{'a' * 40}"
