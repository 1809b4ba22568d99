"""Repositories, branches, files (the contents API and a git push), releases and search."""

from __future__ import annotations

import base64
from typing import Annotated, Any

from sophia.connectors._errors import ConnectorInvalid
from sophia.connectors._github._base import GitHubBase, repo_path
from sophia.connectors._github._push import push_branch
from sophia.connectors._model import action
from sophia.tools import SideEffect

Owner = Annotated[str, "The account that owns the repository (user or organisation)."]
Repo = Annotated[str, "The repository's name, without the owner."]
Limit = Annotated[int, "How many items at most."]


def _repo(body: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "full_name", "private", "default_branch", "description", "html_url", "archived")
    return {key: body.get(key) for key in keys}


class CodeActions(GitHubBase):
    @action("repos.get")
    async def get_repo(self, owner: Owner, repo: Repo) -> dict[str, Any]:
        """A repository: its full name, default branch, visibility and URL."""
        return _repo(await self.http.json("GET", repo_path(owner, repo)))

    @action("repos.list")
    async def list_repos(
        self,
        owner: Annotated[
            str, "A user or organisation; empty for the repositories the token's user can reach."
        ] = "",
        org: Annotated[bool, "True when owner is an organisation."] = False,
        limit: Limit = 100,
    ) -> list[dict[str, Any]]:
        """Repositories of a user or an organisation, most recently updated first."""
        if not owner:
            path = "/user/repos"
        else:
            path = f"/orgs/{owner}/repos" if org else f"/users/{owner}/repos"
        return [
            _repo(item) for item in await self._list(path, limit, {"sort": "updated"} if not org else None)
        ]

    @action("branches.list")
    async def list_branches(self, owner: Owner, repo: Repo, limit: Limit = 100) -> list[dict[str, Any]]:
        """A repository's branches with their head commit."""
        items = await self._list(f"{repo_path(owner, repo)}/branches", limit)
        return [
            {"name": b["name"], "sha": b["commit"]["sha"], "protected": b.get("protected")} for b in items
        ]

    @action("branches.create", SideEffect.WRITE)
    async def create_branch(
        self,
        owner: Owner,
        repo: Repo,
        branch: Annotated[str, "The new branch's name."],
        base: Annotated[str, "The branch (or commit sha) it starts from; empty for the default branch."] = "",
    ) -> dict[str, Any]:
        """Create a branch from a base branch or commit."""
        root = repo_path(owner, repo)
        if not base:
            base = (await self.http.json("GET", root))["default_branch"]
        sha = base
        if not _looks_like_sha(base):
            sha = (await self.http.json("GET", f"{root}/git/ref/heads/{base}"))["object"]["sha"]
        made = await self.http.json(
            "POST", f"{root}/git/refs", json={"ref": f"refs/heads/{branch}", "sha": sha}
        )
        return {"ref": made["ref"], "sha": made["object"]["sha"], "url": made.get("url")}

    @action("branches.delete", SideEffect.DESTROY)
    async def delete_branch(
        self, owner: Owner, repo: Repo, branch: Annotated[str, "The branch to delete (e.g. a merged head)."]
    ) -> dict[str, Any]:
        """Delete a branch (its ref; the commits stay reachable from wherever else they are)."""
        if not branch or branch.startswith("refs/") or ".." in branch:
            raise ConnectorInvalid(f"GitHub branch {branch!r} is not a branch name", service="GitHub")
        await self.http.request("DELETE", f"{repo_path(owner, repo)}/git/refs/heads/{branch}")
        return {"deleted": f"refs/heads/{branch}"}

    @action("files.get")
    async def get_file(
        self,
        owner: Owner,
        repo: Repo,
        path: Annotated[str, "The file's path in the repository."],
        ref: Annotated[str, "A branch, tag or commit; empty for the default branch."] = "",
    ) -> dict[str, Any]:
        """A file's text (decoded from the contents API) and its blob sha (needed to update it)."""
        params = {"ref": ref} if ref else None
        body = await self.http.json(
            "GET", f"{repo_path(owner, repo)}/contents/{path.lstrip('/')}", params=params
        )
        if not isinstance(body, dict) or body.get("type") != "file":
            raise ConnectorInvalid(f"GitHub: {path} is a directory, not a file", service="GitHub")
        raw = base64.b64decode(body.get("content") or "")
        try:
            text: str | None = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        return {
            "path": body["path"],
            "sha": body["sha"],
            "size": body["size"],
            "text": text,
            "binary": text is None,
            "html_url": body.get("html_url"),
        }

    @action("files.put", SideEffect.WRITE)
    async def put_file(
        self,
        owner: Owner,
        repo: Repo,
        path: Annotated[str, "The file's path in the repository."],
        text: Annotated[str, "The file's new content."],
        message: Annotated[str, "The commit message."],
        branch: Annotated[str, "The branch to commit to; empty for the default branch."] = "",
        sha: Annotated[str, "The blob sha being replaced (from files.get); empty to create the file."] = "",
    ) -> dict[str, Any]:
        """Create or update one file with a commit (the contents API)."""
        body: dict[str, Any] = {"message": message, "content": base64.b64encode(text.encode()).decode()}
        if branch:
            body["branch"] = branch
        if sha:
            body["sha"] = sha
        made = await self.http.json("PUT", f"{repo_path(owner, repo)}/contents/{path.lstrip('/')}", json=body)
        return {
            "path": made["content"]["path"],
            "sha": made["content"]["sha"],
            "commit": made["commit"]["sha"],
            "html_url": made["commit"].get("html_url"),
        }

    @action("git.push", SideEffect.WRITE)
    async def push(
        self,
        owner: Owner,
        repo: Repo,
        workspace: Annotated[str, "The local git checkout to push from."],
        branch: Annotated[str, "The local branch to push (it keeps its name on GitHub)."],
        force: Annotated[
            bool, "Overwrite the remote branch (with lease); never needed for a new branch."
        ] = False,
    ) -> dict[str, Any]:
        """Push a local workspace branch to the repository (git over HTTPS, the token never in the URL)."""
        repo_path(owner, repo)
        url = self.git_url(owner, repo)
        secret = await self.git_token()
        return await push_branch(workspace, url, branch, lambda: secret, force=force)

    def git_url(self, owner: str, repo: str) -> str:
        """Where `git.push` pushes: `options.git_url` (a template with {owner} and {repo}), else the web host."""
        template = self.options.get("git_url")
        if template:
            return str(template).format(owner=owner, repo=repo)
        api = self.http.base_url
        web = "https://github.com" if api == self.default_base_url else api.removesuffix("/api/v3")
        return f"{web}/{owner}/{repo}.git"

    @action("releases.list")
    async def list_releases(self, owner: Owner, repo: Repo, limit: Limit = 30) -> list[dict[str, Any]]:
        """A repository's releases, newest first."""
        return [_release(item) for item in await self._list(f"{repo_path(owner, repo)}/releases", limit)]

    @action("releases.create", SideEffect.WRITE)
    async def create_release(
        self,
        owner: Owner,
        repo: Repo,
        tag: Annotated[str, "The tag to create or use, e.g. v1.2.0."],
        name: Annotated[str, "The release title; empty to use the tag."] = "",
        body: Annotated[str, "The release notes (Markdown)."] = "",
        target: Annotated[
            str, "The branch or commit a new tag points at; empty for the default branch."
        ] = "",
        draft: Annotated[bool, "Keep it unpublished."] = True,
        prerelease: bool = False,
    ) -> dict[str, Any]:
        """Create a release (a draft by default, so nothing is announced until someone publishes it)."""
        payload: dict[str, Any] = {"tag_name": tag, "name": name or tag, "body": body, "draft": draft}
        payload["prerelease"] = prerelease
        if target:
            payload["target_commitish"] = target
        return _release(await self.http.json("POST", f"{repo_path(owner, repo)}/releases", json=payload))

    @action("search.code")
    async def search_code(
        self,
        query: Annotated[str, "GitHub code search syntax, e.g. 'parse repo:octo/app language:python'."],
        limit: Annotated[int, "How many results at most (search allows ~10 requests a minute)."] = 30,
    ) -> list[dict[str, Any]]:
        """Search code (GitHub's search API is limited to about 10 requests a minute; results are paced)."""
        items = await self._list("/search/code", min(limit, 1000), {"q": query}, key="items")
        return [
            {
                "path": i["path"],
                "repository": i["repository"]["full_name"],
                "sha": i["sha"],
                "html_url": i["html_url"],
            }
            for i in items
        ]

    @action("search.issues")
    async def search_issues(
        self,
        query: Annotated[str, "GitHub search syntax, e.g. 'is:pr is:open repo:octo/app label:bug'."],
        limit: Annotated[int, "How many results at most (search allows ~30 requests a minute)."] = 30,
    ) -> list[dict[str, Any]]:
        """Search issues and pull requests."""
        items = await self._list("/search/issues", min(limit, 1000), {"q": query}, key="items")
        return [
            {
                "number": i["number"],
                "title": i["title"],
                "state": i["state"],
                "pull_request": "pull_request" in i,
                "html_url": i["html_url"],
            }
            for i in items
        ]


def _looks_like_sha(value: str) -> bool:
    return len(value) == 40 and all(c in "0123456789abcdef" for c in value.lower())


def _release(body: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "tag_name", "name", "draft", "prerelease", "html_url", "published_at")
    return {key: body.get(key) for key in keys}
