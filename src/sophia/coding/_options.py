"""A code run's options from what a person gives (`sophia code`, `POST /v1/code`) and `[coding]`."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from sophia.config import Settings
from sophia.errors import InvalidInput

__all__ = ["code_run_options", "is_remote_url"]

_GIT_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": "/dev/null",
}


def is_remote_url(repo: str) -> bool:
    return repo.startswith(("https://", "http://", "ssh://", "git@"))


def _origin_of(path: Path) -> str | None:
    found = subprocess.run(
        ["git", "-C", str(path), "remote", "get-url", "origin"],
        capture_output=True,
        text=True,
        check=False,
        env=_GIT_ENV,
    )
    return found.stdout.strip() or None if found.returncode == 0 else None


def code_run_options(
    repo: str,
    *,
    settings: Settings,
    branch: str | None = None,
    push: bool = True,
    base: str | None = None,
    test_command: str | None = None,
) -> dict[str, Any]:
    """A local path is cloned (never edited in place) and pushed to its own origin; a URL is cloned and pushed to."""
    if is_remote_url(repo):
        source, remote = repo, None
    else:
        path = Path(repo.removeprefix("file://")).expanduser()
        if not (path / ".git").exists():
            raise InvalidInput(f"{repo[:200]!r} is not a git repository (no .git); give a path or a URL")
        source = str(path.resolve())
        remote = _origin_of(path.resolve())
    return {
        "source": source,
        "remote": remote,
        "branch": branch,
        "push": push and settings.coding.push,
        "base": base or settings.coding.base_branch,
        "test_command": test_command,
        "max_attempts": settings.coding.max_attempts,
        "map_tokens": settings.coding.map_tokens,
        "deploy": bool(
            push and settings.coding.push and (settings.coding.deploy_command or settings.coding.deploy)
        )
        and settings.coding.deploy_after_merge,
        "merge_wait_seconds": settings.coding.merge_wait_seconds,
        "merge_poll_seconds": settings.coding.merge_poll_seconds,
    }
