"""workspace.* and git.* tools: confined to the run's workspace, with before/after for writes."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from sophia.store import Database
from sophia.tools import (
    ApprovalPolicy,
    ToolContext,
    ToolFailed,
    ToolInvoker,
    ToolRegistry,
    ToolSettings,
    WorkspaceError,
    list_tool_audit,
    register_builtin_tools,
)
from sophia.tools._git import GitError, git_commit, git_diff, git_status
from sophia.tools._workspace import list_files, read_file, resolve_in_workspace, write_file


@pytest.fixture
def workspace(tmp_path: Path) -> ToolContext:
    root = tmp_path / "workspace"
    root.mkdir()
    (tmp_path / "outside.txt").write_text("secret plans")
    return ToolContext(user_id=1, run_id="run-ws", agent="coder", workspace=root)


@pytest.mark.parametrize("path", ["../outside.txt", "a/../../outside.txt", "/etc/passwd", "~/x", "a\x00b"])
def test_paths_leaving_the_workspace_are_refused(workspace: ToolContext, path: str) -> None:
    with pytest.raises(WorkspaceError):
        resolve_in_workspace(workspace, path)


def test_a_symlink_pointing_outside_is_refused_for_read_and_write(
    workspace: ToolContext, tmp_path: Path
) -> None:
    assert workspace.workspace is not None
    (workspace.workspace / "link").symlink_to(tmp_path / "outside.txt")
    (workspace.workspace / "dirlink").symlink_to(tmp_path)
    with pytest.raises(WorkspaceError, match="outside the workspace"):
        read_file("link", workspace)
    with pytest.raises(WorkspaceError, match="outside the workspace"):
        write_file("dirlink/outside.txt", "overwritten", workspace)
    assert (tmp_path / "outside.txt").read_text() == "secret plans"


def test_write_returns_before_and_after_and_read_and_list_see_it(workspace: ToolContext) -> None:
    created = write_file("src/app.py", "print(1)\n", workspace)
    assert created.value == {"path": "src/app.py", "bytes": 9, "created": True}
    assert created.before is None and created.after == "print(1)\n"
    replaced = write_file("src/app.py", "print(2)\n", workspace)
    assert replaced.before == "print(1)\n" and replaced.after == "print(2)\n"
    assert read_file("src/app.py", workspace) == "print(2)\n"
    assert list_files(workspace) == [{"path": "src", "type": "dir", "size": None}]
    assert list_files(workspace, recursive=True)[-1] == {"path": "src/app.py", "type": "file", "size": 9}


def test_a_call_without_workspace_gets_a_clear_error() -> None:
    with pytest.raises(WorkspaceError, match="has no workspace"):
        read_file("a.txt", ToolContext())


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
async def test_git_status_diff_and_commit_in_the_workspace(workspace: ToolContext) -> None:
    assert workspace.workspace is not None
    root = workspace.workspace
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    hooks = root / ".git" / "hooks"
    (hooks / "pre-commit").write_text(f"#!/bin/sh\ntouch {root.parent / 'hook-ran'}\n")
    os.chmod(hooks / "pre-commit", 0o755)

    write_file("a.txt", "one\n", workspace)
    status = await git_status(workspace)
    assert status["changes"] == [{"status": "??", "path": "a.txt"}] and not status["clean"]

    first = await git_commit("add a", workspace)
    assert first.before == {"head": None} and first.after == {"head": first.value["commit"]}
    write_file("a.txt", "two\n", workspace)
    assert "-one\n+two" in await git_diff(workspace)
    second = await git_commit("change a", workspace, paths=["a.txt"])
    assert second.before == {"head": first.value["commit"]}
    assert (await git_status(workspace))["clean"]
    assert not (root.parent / "hook-ran").exists()  # the repository's hooks never run
    with pytest.raises(GitError, match="nothing to commit|failed"):
        await git_commit("empty", workspace)
    with pytest.raises(WorkspaceError):
        await git_commit("escape", workspace, paths=["../outside.txt"])


async def test_workspace_write_through_the_invoker_is_audited_with_before_and_after(
    database: Database, workspace: ToolContext
) -> None:
    registry = register_builtin_tools(ToolRegistry(), ToolSettings())
    invoker = ToolInvoker(registry, database, policy=ApprovalPolicy({"workspace.write": {"member": "auto"}}))
    await invoker.invoke("workspace.write", {"path": "n.txt", "content": "v1"}, workspace)
    await invoker.invoke("workspace_write", {"path": "n.txt", "content": "v2"}, workspace)
    with pytest.raises(ToolFailed, match="uses '..'"):
        await invoker.invoke("workspace.write", {"path": "../x", "content": "v"}, workspace)
    async with database.session() as session:
        entries = await list_tool_audit(session, run_id="run-ws")
    assert [(e.detail["status"], e.detail.get("before"), e.detail.get("after")) for e in entries] == [
        ("tool_failed", None, None),
        ("ok", "v1", "v2"),
        ("ok", None, "v1"),
    ]
