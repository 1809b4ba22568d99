"""Issues, comments, pull requests, reviews, merges, checks and Actions runs."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from sophia.connectors._errors import ConnectorInvalid
from sophia.connectors._github._base import GitHubBase, repo_path, user_of
from sophia.connectors._github._graphql import PULL_STATUS, shape_pull_status
from sophia.connectors._model import action
from sophia.tools import SideEffect

Owner = Annotated[str, "The account that owns the repository (user or organisation)."]
Repo = Annotated[str, "The repository's name, without the owner."]
Number = Annotated[int, "The issue or pull request number."]
Limit = Annotated[int, "How many items at most."]
State = Literal["open", "closed", "all"]


def _issue(body: dict[str, Any]) -> dict[str, Any]:
    return {
        "number": body["number"],
        "title": body["title"],
        "state": body["state"],
        "user": user_of(body.get("user")),
        "labels": [label["name"] if isinstance(label, dict) else label for label in body.get("labels") or []],
        "comments": body.get("comments"),
        "html_url": body["html_url"],
    }


def _given(**fields: Any) -> dict[str, Any]:
    """The fields a caller set (an edit sends only what changes); none at all is refused before any request."""
    changes = {key: value for key, value in fields.items() if value is not None}
    if not changes:
        raise ConnectorInvalid("nothing to change: give at least one field", service="GitHub")
    return changes


def _pull(body: dict[str, Any]) -> dict[str, Any]:
    return {
        "number": body["number"],
        "title": body["title"],
        "state": body["state"],
        "draft": body.get("draft"),
        "merged": body.get("merged"),
        "mergeable": body.get("mergeable"),
        "head": body["head"]["ref"],
        "head_sha": body["head"]["sha"],
        "base": body["base"]["ref"],
        "user": user_of(body.get("user")),
        "html_url": body["html_url"],
    }


def _comment(body: dict[str, Any]) -> dict[str, Any]:
    found = {
        "id": body["id"],
        "user": user_of(body.get("user")),
        "body": body.get("body"),
        "html_url": body["html_url"],
    }
    if "path" in body:
        found.update(path=body["path"], line=body.get("line"))
    return found


def _run(body: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "id",
        "name",
        "status",
        "conclusion",
        "head_branch",
        "head_sha",
        "event",
        "html_url",
        "created_at",
    )
    return {key: body.get(key) for key in keys}


class WorkActions(GitHubBase):
    @action("issues.list")
    async def list_issues(
        self, owner: Owner, repo: Repo, state: State = "open", limit: Limit = 30
    ) -> list[dict[str, Any]]:
        """A repository's issues (pull requests left out), newest first."""
        items = await self._list(f"{repo_path(owner, repo)}/issues", limit * 2, {"state": state})
        return [_issue(i) for i in items if "pull_request" not in i][:limit]

    @action("issues.get")
    async def get_issue(self, owner: Owner, repo: Repo, number: Number) -> dict[str, Any]:
        """One issue with its text."""
        body = await self.http.json("GET", f"{repo_path(owner, repo)}/issues/{number}")
        return {**_issue(body), "body": body.get("body")}

    @action("issues.create", SideEffect.WRITE)
    async def create_issue(
        self,
        owner: Owner,
        repo: Repo,
        title: Annotated[str, "The issue's title."],
        body: Annotated[str, "The issue's text (Markdown)."] = "",
        labels: Annotated[list[str] | None, "Labels to set."] = None,
    ) -> dict[str, Any]:
        """Open an issue."""
        payload: dict[str, Any] = {"title": title, "body": body}
        if labels:
            payload["labels"] = labels
        return _issue(await self.http.json("POST", f"{repo_path(owner, repo)}/issues", json=payload))

    @action("issues.update", SideEffect.WRITE)
    async def update_issue(
        self,
        owner: Owner,
        repo: Repo,
        number: Number,
        title: Annotated[str | None, "A new title."] = None,
        body: Annotated[str | None, "A new text (Markdown)."] = None,
        state: Annotated[Literal["open", "closed"] | None, "Close or reopen it."] = None,
        state_reason: Annotated[
            Literal["completed", "not_planned", "reopened"] | None, "Why it was closed or reopened."
        ] = None,
        labels: Annotated[list[str] | None, "Replace the labels with these."] = None,
        assignees: Annotated[list[str] | None, "Replace the assignees with these logins."] = None,
    ) -> dict[str, Any]:
        """Edit an issue: only the fields given change (close it with state="closed")."""
        changes = _given(
            title=title, body=body, state=state, state_reason=state_reason, labels=labels, assignees=assignees
        )
        path = f"{repo_path(owner, repo)}/issues/{number}"
        return _issue(await self.http.json("PATCH", path, json=changes))

    @action("issues.comments.list")
    async def list_comments(
        self, owner: Owner, repo: Repo, number: Number, limit: Limit = 50
    ) -> list[dict[str, Any]]:
        """The conversation comments of an issue or pull request, oldest first."""
        return [
            _comment(c) for c in await self._list(f"{repo_path(owner, repo)}/issues/{number}/comments", limit)
        ]

    @action("issues.comment", SideEffect.WRITE)
    async def comment(
        self, owner: Owner, repo: Repo, number: Number, body: Annotated[str, "The comment (Markdown)."]
    ) -> dict[str, Any]:
        """Comment on an issue or a pull request's conversation."""
        made = await self.http.json(
            "POST", f"{repo_path(owner, repo)}/issues/{number}/comments", json={"body": body}
        )
        return _comment(made)

    @action("pulls.list")
    async def list_pulls(
        self,
        owner: Owner,
        repo: Repo,
        state: State = "open",
        head: Annotated[str, "Only pulls from this branch ('owner:branch')."] = "",
        base: Annotated[str, "Only pulls into this branch."] = "",
        limit: Limit = 30,
    ) -> list[dict[str, Any]]:
        """A repository's pull requests."""
        params = {"state": state, **({"head": head} if head else {}), **({"base": base} if base else {})}
        return [_pull(p) for p in await self._list(f"{repo_path(owner, repo)}/pulls", limit, params)]

    @action("pulls.get")
    async def get_pull(self, owner: Owner, repo: Repo, number: Number) -> dict[str, Any]:
        """One pull request with its text and diff size."""
        body = await self.http.json("GET", f"{repo_path(owner, repo)}/pulls/{number}")
        sizes = {k: body.get(k) for k in ("additions", "deletions", "changed_files", "commits")}
        return {**_pull(body), "body": body.get("body"), **sizes}

    @action("pulls.create", SideEffect.WRITE)
    async def create_pull(
        self,
        owner: Owner,
        repo: Repo,
        head: Annotated[str, "The branch with the changes (or 'owner:branch' from a fork)."],
        base: Annotated[str, "The branch to merge into."],
        title: Annotated[str, "The pull request's title."],
        body: Annotated[str, "Its description (Markdown)."] = "",
        draft: Annotated[bool, "Open it as a draft (the default), so nobody is asked to review yet."] = True,
    ) -> dict[str, Any]:
        """Open a pull request (a draft by default). If one is already open for head → base, it is returned."""
        root = repo_path(owner, repo)
        qualified = head if ":" in head else f"{owner}:{head}"
        existing = await self._list(f"{root}/pulls", 1, {"state": "open", "head": qualified, "base": base})
        if existing:
            return {**_pull(existing[0]), "existing": True}
        payload = {"head": head, "base": base, "title": title, "body": body, "draft": draft}
        return {**_pull(await self.http.json("POST", f"{root}/pulls", json=payload)), "existing": False}

    @action("pulls.update", SideEffect.WRITE)
    async def update_pull(
        self,
        owner: Owner,
        repo: Repo,
        number: Number,
        title: Annotated[str | None, "A new title."] = None,
        body: Annotated[str | None, "A new description (Markdown)."] = None,
        state: Annotated[
            Literal["open", "closed"] | None, "Close or reopen it (closing does not merge)."
        ] = None,
        base: Annotated[str | None, "Retarget it onto this branch."] = None,
    ) -> dict[str, Any]:
        """Edit a pull request: only the fields given change."""
        changes = _given(title=title, body=body, state=state, base=base)
        path = f"{repo_path(owner, repo)}/pulls/{number}"
        return _pull(await self.http.json("PATCH", path, json=changes))

    @action("pulls.status")
    async def pull_status(self, owner: Owner, repo: Repo, number: Number) -> dict[str, Any]:
        """A pull request's review decision, its checks on the head commit and its unresolved review threads,
        in one GraphQL query."""
        variables = {"owner": owner, "repo": repo, "number": number}
        query = {"query": PULL_STATUS, "variables": variables}
        body = await self.http.json("POST", self._graphql_url(), json=query, reads=True)
        return shape_pull_status(body)

    def _graphql_url(self) -> str:
        """api.github.com/graphql; GitHub Enterprise serves it at /api/graphql beside /api/v3."""
        base = self.http.base_url
        return base.removesuffix("/v3") + "/graphql" if base.endswith("/api/v3") else "/graphql"

    @action("pulls.review_comments")
    async def review_comments(
        self, owner: Owner, repo: Repo, number: Number, limit: Limit = 100
    ) -> list[dict[str, Any]]:
        """The line comments of a pull request's reviews."""
        return [
            _comment(c) for c in await self._list(f"{repo_path(owner, repo)}/pulls/{number}/comments", limit)
        ]

    @action("pulls.merge", SideEffect.DESTROY)
    async def merge_pull(
        self,
        owner: Owner,
        repo: Repo,
        number: Number,
        method: Literal["merge", "squash", "rebase"] = "squash",
        sha: Annotated[str, "Merge only if the head is still this commit (guards against late pushes)."] = "",
    ) -> dict[str, Any]:
        """Merge a pull request into its base branch. Marked destroy: it changes the shared branch for everyone
        and cannot be taken back except by a revert."""
        payload: dict[str, Any] = {"merge_method": method}
        if sha:
            payload["sha"] = sha
        made = await self.http.json("PUT", f"{repo_path(owner, repo)}/pulls/{number}/merge", json=payload)
        return {"merged": made.get("merged"), "sha": made.get("sha"), "message": made.get("message")}

    @action("checks.list")
    async def list_checks(
        self,
        owner: Owner,
        repo: Repo,
        ref: Annotated[str, "A branch, tag or commit sha."],
        limit: Limit = 100,
    ) -> list[dict[str, Any]]:
        """The check runs (CI results) for a commit."""
        items = await self._list(
            f"{repo_path(owner, repo)}/commits/{ref}/check-runs", limit, key="check_runs"
        )
        keys = ("id", "name", "status", "conclusion", "html_url", "started_at", "completed_at")
        return [{key: run.get(key) for key in keys} for run in items]

    @action("actions.dispatch", SideEffect.WRITE)
    async def dispatch(
        self,
        owner: Owner,
        repo: Repo,
        workflow: Annotated[str, "The workflow file name (ci.yml) or id."],
        ref: Annotated[str, "The branch or tag to run it on."],
        inputs: Annotated[dict[str, str] | None, "The workflow's inputs."] = None,
    ) -> dict[str, Any]:
        """Start a workflow that has a `workflow_dispatch` trigger."""
        path = f"{repo_path(owner, repo)}/actions/workflows/{workflow}/dispatches"
        await self.http.request("POST", path, json={"ref": ref, "inputs": inputs or {}})
        return {"dispatched": workflow, "ref": ref}

    @action("actions.runs.list")
    async def list_runs(
        self,
        owner: Owner,
        repo: Repo,
        branch: Annotated[str, "Only runs on this branch."] = "",
        status: Annotated[str, "Only runs with this status or conclusion (completed, failure, …)."] = "",
        limit: Limit = 30,
    ) -> list[dict[str, Any]]:
        """Workflow runs, newest first."""
        params = {**({"branch": branch} if branch else {}), **({"status": status} if status else {})}
        items = await self._list(f"{repo_path(owner, repo)}/actions/runs", limit, params, key="workflow_runs")
        return [_run(r) for r in items]

    @action("actions.runs.get")
    async def get_run(
        self, owner: Owner, repo: Repo, run_id: Annotated[int, "The workflow run's id."]
    ) -> dict[str, Any]:
        """One workflow run."""
        return _run(await self.http.json("GET", f"{repo_path(owner, repo)}/actions/runs/{run_id}"))

    @action("actions.runs.logs")
    async def run_logs(
        self, owner: Owner, repo: Repo, run_id: Annotated[int, "The workflow run's id."]
    ) -> dict[str, Any]:
        """Where to download a run's logs (a short-lived URL to a zip archive)."""
        response = await self.http.request(
            "GET", f"{repo_path(owner, repo)}/actions/runs/{run_id}/logs", ok=(302,)
        )
        location = response.headers.get("location")
        if not location:
            raise ConnectorInvalid("GitHub gave no log location for that run", service="GitHub")
        return {"run_id": run_id, "logs_url": location}
