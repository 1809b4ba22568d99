"""Delivery through the GitHub connector: push with its git token, draft pull requests, check runs.

The connector (`[connectors.<name>]` of kind `github`) owns the token, the API version pin, pacing, retries and
GitHub App tokens; this adapter only calls its actions as Python methods. It is duck-typed on the connector's
public methods, so the coding package never reaches into the connector's private modules.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, cast

from sophia.coding._delivery import CheckRun, DeliveryFailed, PullRequest
from sophia.coding._gitops import GitRunner
from sophia.connectors import Connector, ConnectorError

__all__ = ["GitHubConnectorLike", "GitHubDelivery", "github_delivery"]

log = logging.getLogger("sophia.coding")


class GitHubConnectorLike(Protocol):
    """The GitHub connector's methods the delivery uses (see `sophia.connectors`' GitHub actions)."""

    async def list_pulls(
        self, owner: str, repo: str, state: str = ..., head: str = ..., base: str = ..., limit: int = ...
    ) -> list[dict[str, Any]]: ...

    async def create_pull(
        self, owner: str, repo: str, head: str, base: str, title: str, body: str = ..., draft: bool = ...
    ) -> dict[str, Any]: ...

    async def list_checks(
        self, owner: str, repo: str, ref: str, limit: int = ...
    ) -> list[dict[str, Any]]: ...

    async def get_pull(self, owner: str, repo: str, number: int) -> dict[str, Any]: ...

    async def push(
        self, owner: str, repo: str, workspace: str, branch: str, force: bool = ...
    ) -> dict[str, Any]: ...

    async def git_token(self) -> str: ...

    def git_url(self, owner: str, repo: str) -> str: ...


def _split(repo: str) -> tuple[str, str]:
    owner, _, name = repo.partition("/")
    if not owner or not name or "/" in name:
        raise DeliveryFailed(f"{repo[:100]!r} is not a GitHub repository (owner/name)")
    return owner, name


def _pull(data: dict[str, Any]) -> PullRequest:
    return PullRequest(
        int(data["number"]),
        str(data.get("html_url") or data.get("url") or ""),
        str(data.get("head") or ""),
        str(data.get("base") or ""),
        bool(data.get("draft", False)),
        str(data.get("state") or "open"),
    )


@dataclass(frozen=True, slots=True)
class GitHubDelivery:
    """`PullRequests` and the push, on one GitHub connector instance."""

    connector: GitHubConnectorLike
    name: str = "github"

    async def _call(self, what: str, coroutine: Any) -> Any:
        try:
            return await coroutine
        except ConnectorError as error:
            raise DeliveryFailed(f"GitHub ({self.name}) {what}: {error.message}") from None

    async def find_open(self, repo: str, head: str) -> PullRequest | None:
        owner, name = _split(repo)
        found = await self._call(
            "pulls.list",
            self.connector.list_pulls(owner, name, state="open", head=f"{owner}:{head}", limit=1),
        )
        return _pull(found[0]) if found else None

    async def open_pull_request(
        self, repo: str, *, title: str, body: str, head: str, base: str, draft: bool = True
    ) -> PullRequest:
        owner, name = _split(repo)
        made = await self._call(
            "pulls.create", self.connector.create_pull(owner, name, head, base, title, body=body, draft=draft)
        )
        return _pull(made)

    async def read_checks(self, repo: str, ref: str) -> list[CheckRun]:
        owner, name = _split(repo)
        runs = await self._call("checks.list", self.connector.list_checks(owner, name, ref))
        return [CheckRun(str(r.get("name")), str(r.get("status")), r.get("conclusion")) for r in runs]

    async def pull_state(self, repo: str, number: int) -> str:
        owner, name = _split(repo)
        pull = await self._call("pulls.get", self.connector.get_pull(owner, name, number))
        return "merged" if pull.get("merged") else str(pull.get("state") or "open")

    async def push(self, repo: str, workspace: Path, branch: str, git: GitRunner) -> dict[str, Any]:
        """Push the branch with the connector's git token, unless the remote already has this commit."""
        owner, name = _split(repo)
        url = self.connector.git_url(owner, name)
        token = await self._call("git token", self.connector.git_token())
        head = await git.head(workspace)
        if await GitRunner(token=token).remote_head(workspace, url, branch) == head:
            return {"branch": branch, "commit": head, "pushed": False, "already_there": True}
        pushed = await self._call("git.push", self.connector.push(owner, name, str(workspace), branch))
        return {
            "branch": branch,
            "commit": str(pushed.get("sha") or head),
            "pushed": True,
            "already_there": False,
            "remote": str(pushed.get("remote") or ""),
        }


def github_delivery(connectors: Iterable[Connector], name: str | None) -> GitHubDelivery | None:
    """The named GitHub connector (`[coding] github`), else the only one configured; None when there is none."""
    found = [c for c in connectors if c.kind == "github"]
    if name is not None:
        chosen = [c for c in found if c.name == name]
        if not chosen:
            raise DeliveryFailed(
                f"[coding] github = {name!r} names no GitHub connector ([connectors.{name}])"
            )
        found = chosen
    if not found:
        return None
    if len(found) > 1:  # the code tools then say, when used, that no pull-request service is chosen
        names = ", ".join(sorted(c.name for c in found))
        log.warning("several GitHub connectors (%s): set [coding] github = NAME to deliver code runs", names)
        return None
    return GitHubDelivery(cast(GitHubConnectorLike, found[0]), found[0].name)
