"""The checks as `code.test` runs them in the sandbox: the project's own pytest settings hold (Sophia's pytest
plugins stay out), the Python Sophia runs on is there, and a check that cannot run proves nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sophia.accounts import Role
from sophia.coding import CheckResult, CodeTools, code_tools_for, register_code_tools
from sophia.config import Settings
from sophia.store import Database
from sophia.tools import ApprovalPolicy, ToolContext, ToolInvoker, ToolRegistry


async def _test(database: Database, workspace: Path, command: str | None = None) -> dict[str, object]:
    registry = register_code_tools(ToolRegistry(), CodeTools())
    invoker = ToolInvoker(registry, database, policy=ApprovalPolicy({"code.*": {"*": "auto"}}))
    context = ToolContext(user_id=1, user_name="ada", role=Role.MEMBER, workspace=workspace)
    arguments = {"command": command} if command else {}
    result = await invoker.invoke("code.test", arguments, context)
    output: dict[str, object] = result.output
    return output


async def test_a_project_that_turns_warnings_into_errors_is_not_broken_by_sophias_plugins(
    tmp_path: Path, sqlite_db: Database
) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.pytest.ini_options]\nfilterwarnings = ["error"]\n')
    (tmp_path / "test_ok.py").write_text("def test_ok():\n    assert 1 + 1 == 2\n")
    ran = await _test(sqlite_db, tmp_path)
    assert ran["passed"] is True, ran
    (result,) = ran["results"]  # type: ignore[misc]
    assert result["status"] == "passed" and "1 passed" in result["output"]


async def test_a_check_whose_tool_is_missing_is_unavailable_and_proves_nothing(
    tmp_path: Path, sqlite_db: Database
) -> None:
    ran = await _test(sqlite_db, tmp_path, "no-such-checker .")
    (result,) = ran["results"]  # type: ignore[misc]
    assert result["status"] == "unavailable" and ran["passed"] is False
    unavailable = CheckResult.from_record(result)
    assert not unavailable.passed and not unavailable.blocking


async def test_the_checks_run_with_the_python_environment_coding_python_names(
    tmp_path: Path, sqlite_db: Database
) -> None:
    environment = tmp_path / "check-env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(environment)], check=True)
    settings = Settings(home=tmp_path / "home", coding={"python": str(environment)})
    registry = register_code_tools(ToolRegistry(), code_tools_for(settings))
    invoker = ToolInvoker(registry, sqlite_db, policy=ApprovalPolicy({"code.*": {"*": "auto"}}))
    workspace = tmp_path / "ws"
    workspace.mkdir()
    context = ToolContext(user_id=1, user_name="ada", role=Role.MEMBER, workspace=workspace)
    command = 'python3 -c "import sys; print(sys.prefix)"'
    ran = await invoker.invoke("code.test", {"command": command}, context)
    (result,) = ran.output["results"]
    assert result["status"] == "passed" and result["output"].strip() == str(environment.resolve())
