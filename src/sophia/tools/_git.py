"""`git.status` / `git.diff` / `git.commit` in the run's workspace, with repository hooks switched off."""

from __future__ import annotations

import shutil
from typing import Annotated, Any

from sophia.tools._errors import ToolError
from sophia.tools._model import ToolContext, ToolResult
from sophia.tools._process import run_process
from sophia.tools._workspace import resolve_in_workspace, workspace_root

__all__ = ["GitError", "git_commit", "git_diff", "git_status"]

_TIMEOUT = 60.0
_MAX_OUTPUT = 1_000_000
# A workspace may hold a repository an attacker prepared: never run its hooks or fsmonitor, never prompt.
_SAFE_CONFIG = ("-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false", "-c", "protocol.allow=never")


class GitError(ToolError):
    code = "git_error"


async def _git(context: ToolContext, *args: str) -> str:
    git = shutil.which("git")
    if git is None:
        raise GitError("git is not installed on this machine; install it to use the git tools")
    workspace = workspace_root(context)
    name = context.agent or "sophia"
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(workspace),
        "LANG": "C.UTF-8",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_AUTHOR_NAME": context.user_name or name,
        "GIT_AUTHOR_EMAIL": f"{name}@sophia.invalid",
        "GIT_COMMITTER_NAME": name,
        "GIT_COMMITTER_EMAIL": f"{name}@sophia.invalid",
    }
    outcome = await run_process(
        [git, *_SAFE_CONFIG, *args], cwd=workspace, env=env, timeout=_TIMEOUT, max_output_bytes=_MAX_OUTPUT
    )
    if outcome.timed_out:
        raise GitError(f"git {args[0]} did not finish within {_TIMEOUT:g} seconds")
    if outcome.exit_code != 0:
        detail = (outcome.stderr or outcome.stdout).strip().splitlines()
        raise GitError(f"git {args[0]} failed: {detail[-1] if detail else f'exit code {outcome.exit_code}'}")
    return outcome.stdout


async def git_status(context: ToolContext) -> dict[str, Any]:
    """Show the branch and changed files of the workspace's git repository."""
    text = await _git(context, "status", "--porcelain=v1", "--branch", "--untracked-files=all")
    lines = text.splitlines()
    branch = lines[0][3:] if lines and lines[0].startswith("## ") else None
    changes = [{"status": line[:2].strip(), "path": line[3:]} for line in lines if not line.startswith("## ")]
    return {"branch": branch, "changes": changes, "clean": not changes}


async def git_diff(
    context: ToolContext,
    staged: Annotated[bool, "Show staged changes instead of unstaged ones."] = False,
    path: Annotated[str | None, "Only this file or folder (relative to the workspace)."] = None,
) -> str:
    """Show the diff of the workspace's git repository."""
    args = ["diff", "--no-color", "--no-ext-diff"] + (["--cached"] if staged else [])
    if path is not None:
        args += ["--", str(resolve_in_workspace(context, path).relative_to(workspace_root(context)))]
    return await _git(context, *args)


async def _head(context: ToolContext) -> str | None:
    try:
        return (await _git(context, "rev-parse", "--verify", "-q", "HEAD")).strip() or None
    except GitError:
        return None


async def git_commit(
    message: Annotated[str, "The commit message."],
    context: ToolContext,
    paths: Annotated[list[str] | None, "Files to commit; all changes when omitted."] = None,
) -> ToolResult[dict[str, Any]]:
    """Stage changes and commit them in the workspace's git repository."""
    if not message.strip():
        raise GitError("the commit message is empty; describe the change")
    root = workspace_root(context)
    targets = [str(resolve_in_workspace(context, p).relative_to(root)) for p in paths or []]
    before = await _head(context)
    await _git(context, "add", "--all", "--", *(targets or ["."]))
    await _git(context, "commit", "--no-verify", "--no-gpg-sign", "-m", message)
    after = await _head(context)
    summary = (await _git(context, "show", "--stat", "--format=%H %s", "HEAD")).strip()
    return ToolResult(
        {"commit": after, "summary": summary[:4000]}, before={"head": before}, after={"head": after}
    )
