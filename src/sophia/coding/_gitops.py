"""Git for the coding orchestrator: clone, branch, commit, diff and push, with the repository's hooks switched off.

Unlike the `git.*` tools (which never reach another repository), these clone from and push to the task's
remote: local paths and file URLs for tests and local remotes, https with a token passed through git's
environment-only config (never on a command line, never in a log).
"""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from sophia.errors import SophiaError

__all__ = ["GitFailed", "GitRunner"]

_TIMEOUT = 300.0
_SAFE = ("-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false", "-c", "protocol.ext.allow=never")


class GitFailed(SophiaError):
    code = "git_failed"


@dataclass(frozen=True, slots=True)
class GitRunner:
    """Runs git as Sophia (`sophia@sophia.invalid`) with no global or system config and no prompts."""

    token: str | None = None
    author: str = "Sophia"

    def _env(self, workspace: Path | None) -> dict[str, str]:
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": str(workspace or Path("/nonexistent")),
            "LANG": "C.UTF-8",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": "/dev/null",
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_AUTHOR_NAME": self.author,
            "GIT_AUTHOR_EMAIL": "sophia@sophia.invalid",
            "GIT_COMMITTER_NAME": self.author,
            "GIT_COMMITTER_EMAIL": "sophia@sophia.invalid",
        }
        if self.token:
            basic = base64.b64encode(f"x-access-token:{self.token}".encode()).decode()
            env.update(
                {
                    "GIT_CONFIG_COUNT": "1",
                    "GIT_CONFIG_KEY_0": "http.extraHeader",
                    "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
                }
            )
        return env

    async def run(self, cwd: Path, *args: str, check: bool = True) -> str:
        git = shutil.which("git")
        if git is None:
            raise GitFailed("git is not installed on this machine; install it to use the coding orchestrator")
        process = await asyncio.create_subprocess_exec(
            git, *_SAFE, *args,
            cwd=cwd, env=self._env(cwd), stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            out, err = await asyncio.wait_for(process.communicate(), _TIMEOUT)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise GitFailed(f"git {args[0]} did not finish within {_TIMEOUT:g} seconds") from None
        if check and process.returncode != 0:
            detail = (err or out).decode("utf-8", "replace").strip().splitlines()
            message = detail[-1] if detail else f"exit code {process.returncode}"
            if self.token:
                message = message.replace(self.token, "[redacted]")
            raise GitFailed(f"git {args[0]} failed: {message[:400]}")
        return out.decode("utf-8", "replace")

    async def clone(self, source: str, destination: Path) -> None:
        destination.mkdir(parents=True, exist_ok=True)
        if any(destination.iterdir()):
            if (destination / ".git").is_dir():
                return  # a replay after a crash mid-task: the checkout is already there
            raise GitFailed(
                f"{destination} is not empty; a coding task needs an empty workspace to clone into"
            )
        await self.run(destination.parent, "clone", "--quiet", "--no-local", "--", source, str(destination))
        exclude = destination / ".git" / "info" / "exclude"
        exclude.parent.mkdir(parents=True, exist_ok=True)
        with exclude.open("a") as handle:  # what running the checks leaves behind is never part of the change
            handle.write("\n__pycache__/\n*.pyc\n.pytest_cache/\n.mypy_cache/\n.ruff_cache/\n")

    async def head(self, workspace: Path) -> str:
        return (await self.run(workspace, "rev-parse", "HEAD")).strip()

    async def current_branch(self, workspace: Path) -> str:
        return (await self.run(workspace, "rev-parse", "--abbrev-ref", "HEAD")).strip()

    async def branch(self, workspace: Path, name: str) -> None:
        existing = await self.run(workspace, "branch", "--list", name)
        await self.run(workspace, "checkout", "--quiet", *(() if existing.strip() else ("-b",)), name)

    async def commit_all(self, workspace: Path, message: str) -> str | None:
        await self.run(workspace, "add", "--all")
        staged = await self.run(workspace, "diff", "--cached", "--name-only")
        if not staged.strip():
            return None
        await self.run(workspace, "commit", "--quiet", "--no-verify", "--no-gpg-sign", "-m", message)
        return await self.head(workspace)

    async def changed_files(self, workspace: Path, base: str) -> list[str]:
        text = await self.run(workspace, "diff", "--name-only", base)
        untracked = await self.run(workspace, "ls-files", "--others", "--exclude-standard")
        return sorted({*text.split(), *untracked.split()})

    async def diff(self, workspace: Path, base: str) -> str:
        await self.run(workspace, "add", "--intent-to-add", "--all")
        return await self.run(workspace, "diff", "--no-color", "--no-ext-diff", base)

    async def show(self, workspace: Path, base: str, path: str) -> str | None:
        try:
            return await self.run(workspace, "show", f"{base}:{path}")
        except GitFailed:
            return None

    async def remote_url(self, workspace: Path, remote: str = "origin") -> str | None:
        text = await self.run(workspace, "remote", "get-url", remote, check=False)
        return text.strip() or None

    async def remote_head(self, workspace: Path, url: str, branch: str) -> str | None:
        text = await self.run(workspace, "ls-remote", "--", url, f"refs/heads/{branch}")
        return text.split()[0] if text.strip() else None

    async def push(self, workspace: Path, url: str, branch: str) -> dict[str, str | bool]:
        """Push HEAD to `branch` unless the remote already has it: a second push is never made."""
        head = await self.head(workspace)
        if await self.remote_head(workspace, url, branch) == head:
            return {"branch": branch, "commit": head, "pushed": False, "already_there": True}
        await self.run(workspace, "push", "--quiet", "--", url, f"HEAD:refs/heads/{branch}")
        return {"branch": branch, "commit": head, "pushed": True, "already_there": False}


def is_local_source(source: str) -> bool:
    return source.startswith(("/", "./", "../", "file://")) or os.path.isdir(source)
