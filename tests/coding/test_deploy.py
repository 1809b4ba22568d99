"""The configured deploy: a real shell command, a real health URL on 127.0.0.1, and the rollback when it fails —
built from `[coding]` as `code_tools_for` builds it for every shell, and called as the `code.deploy` tool."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from sophia.accounts import Role
from sophia.coding import Deployer, code_tools_for, register_code_tools
from sophia.config import Settings
from sophia.store import Database
from sophia.tools import ApprovalPolicy, ApprovalRequired, ToolContext, ToolInvoker, ToolRegistry
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


async def test_a_healthy_deploy_is_kept(tmp_path: Path, health: tuple[str, dict[str, int]]) -> None:
    url, _ = health
    result = await Deployer("echo shipped > deployed.txt", url, "echo undo > rolled.txt").deploy(tmp_path)
    assert result.status == "deployed" and result.health_status == 200
    assert (tmp_path / "deployed.txt").read_text() == "shipped\n" and not (tmp_path / "rolled.txt").exists()


async def test_an_unhealthy_deploy_is_rolled_back(tmp_path: Path, health: tuple[str, dict[str, int]]) -> None:
    url, state = health
    state["status"] = 503
    deployer = Deployer("echo shipped", url, "echo undo > rolled.txt", health_seconds=1.5)
    result = await deployer.deploy(tmp_path)
    assert result.status == "rolled_back" and result.health_status == 503
    assert (tmp_path / "rolled.txt").read_text() == "undo\n" and "--- rollback ---" in result.output


async def test_a_failing_command_without_a_rollback_is_reported_failed(tmp_path: Path) -> None:
    result = await Deployer("echo broken >&2; exit 3").deploy(tmp_path)
    assert result.status == "failed" and result.health_status is None
    assert "broken" in result.output and "no rollback command configured" in result.output


async def test_code_deploy_from_sophia_toml_runs_in_the_workspace(
    tmp_path: Path, health: tuple[str, dict[str, int]], sqlite_db: Database
) -> None:
    url, _ = health
    settings = Settings(
        home=tmp_path / "home", coding={"deploy_command": "pwd > where.txt", "deploy_health_url": url}
    )
    registry = register_code_tools(ToolRegistry(), code_tools_for(settings))
    invoker = ToolInvoker(registry, sqlite_db, policy=ApprovalPolicy({"code.deploy": {"*": "auto"}}))
    workspace = tmp_path / "ws"
    workspace.mkdir()
    context = ToolContext(user_id=1, user_name="ada", role=Role.ADMIN, workspace=workspace)
    deployed = await invoker.invoke("code.deploy", {}, context)
    assert deployed.output["status"] == "deployed"
    assert (workspace / "where.txt").read_text().strip() == str(workspace.resolve())
    held = ToolInvoker(registry, sqlite_db)  # the built-in policy: a deploy reaches the world, so it waits
    with pytest.raises(ApprovalRequired):
        await held.invoke("code.deploy", {}, context)
