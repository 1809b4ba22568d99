"""`git push` of a local branch with the token in an HTTP header passed through the environment.

The token travels as `http.extraheader` set by GIT_CONFIG_COUNT/KEY/VALUE (never in argv, the URL, or logs).
"""

from __future__ import annotations

import asyncio
import base64
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sophia.connectors._dryrun import DryRunStop, RequestPreview, current_call
from sophia.connectors._errors import ConnectorConflict, ConnectorError, ConnectorInvalid
from sophia.observability import redactor

__all__ = ["push_branch"]


async def push_branch(
    workspace: str, url: str, branch: str, token: Callable[[], str], *, force: bool = False
) -> dict[str, Any]:
    checkout = Path(workspace).expanduser()
    if not (checkout / ".git").exists() and not (checkout / "HEAD").exists():
        raise ConnectorInvalid(f"GitHub: {workspace} is not a git checkout", service="GitHub")
    if not branch or branch.startswith("-") or ".." in branch:
        raise ConnectorInvalid(f"GitHub: {branch!r} is not a branch name", service="GitHub")
    head = (await _git(checkout, {}, "rev-parse", "--verify", f"refs/heads/{branch}")).strip()
    refspec = f"refs/heads/{branch}:refs/heads/{branch}"
    args = ["push", "--porcelain", *(["--force-with-lease"] if force else []), url, refspec]
    scope = current_call()
    if scope is not None and scope.dry_run:
        raise DryRunStop(
            RequestPreview("GIT PUSH", url, {"authorization": "[redacted]"}, {"ref": branch, "sha": head})
        )
    secret = token()
    redactor.add(secret)
    basic = base64.b64encode(f"x-access-token:{secret}".encode()).decode()
    redactor.add(basic)
    env = {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "http.extraheader",
        "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
    }
    await _git(checkout, env, *args)
    return {"branch": branch, "sha": head, "remote": redactor.redact(url)}


async def _git(cwd: Path, extra: dict[str, str], *args: str) -> str:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", **extra}
    process = await asyncio.create_subprocess_exec(
        "git", *args, cwd=cwd, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await process.communicate()
    if process.returncode != 0:
        said = redactor.redact(err.decode(errors="replace").strip()[-400:])
        kind = ConnectorConflict if "rejected" in said or "non-fast-forward" in said else ConnectorError
        raise kind(f"GitHub: git {args[0]} failed: {said}", service="GitHub")
    return out.decode(errors="replace")
