"""The `code` tools: map, search, edit, test, commit, push, PR, checks and deploy on a run's workspace.

They are registry tools like the built-ins, so the approval policy, the audit and the `code` MCP server apply
to each. Edits, tests and local commits stay inside the workspace (auto for members and admins by the built-in
rules); push, pull request and deploy reach the world and are held for approval by default.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from sophia.coding._checks import Check, CheckResult, check_shell, detect_checks
from sophia.coding._delivery import DeliveryFailed, Deploys, PullRequests, repository_slug
from sophia.coding._edits import EditBlock, EditRefused, apply_block, parse_blocks
from sophia.coding._github import GitHubDelivery
from sophia.coding._gitops import GitRunner
from sophia.coding._repomap import RepoMap, SummaryCache
from sophia.coding._udiff import looks_like_diff, parse_unified_diff
from sophia.coding._workspaces import in_workspace
from sophia.errors import InvalidInput
from sophia.tools import (
    ShellRunner,
    ShellSettings,
    SideEffect,
    ToolContext,
    ToolRegistry,
    ToolResult,
    WorkspaceError,
    resolve_in_workspace,
)

__all__ = ["CodeTools", "parse_edits", "register_code_tools"]

_STATE_CHARS = 20_000
_CHECK_ENV = "PYTHONDONTWRITEBYTECODE=1 PYTEST_DISABLE_PLUGIN_AUTOLOAD=1"
"""The checks run the project's own tests: the pytest plugins installed beside Sophia stay out of them."""
_SEARCH_HITS = 50
_WORKSPACE = (
    "Over HTTP MCP: the checkout to work in, one of the server's [coding] workspaces (its path or folder name);"
    " leave empty in a run or a stdio session, which have their own."
)
_MAX_SEARCH_FILE = 400_000


def parse_edits(text: str) -> list[EditBlock]:
    """SEARCH/REPLACE blocks, or a unified diff when the text holds no blocks."""
    blocks = parse_blocks(text)
    if blocks:
        return blocks
    if looks_like_diff(text):
        return parse_unified_diff(text)
    raise EditRefused(
        "no edit found: give SEARCH/REPLACE blocks (path line, <<<<<<< SEARCH, =======, >>>>>>> REPLACE) "
        "or a unified diff"
    )


def _read(path: Path) -> str | None:
    return path.read_text(encoding="utf-8") if path.is_file() else None


def _write(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    with os.fdopen(os.open(path, flags, 0o644), "w", encoding="utf-8") as handle:
        handle.write(content)


@dataclass
class CodeTools:
    """Holds what the tools share: shell limits, git, the map cache, pull requests and the deployer.

    With `github` (the GitHub connector) the push and the pull request go through it; `pull_requests` alone
    (a double in tests) opens pull requests and the push goes to the clone's origin with plain git.
    """

    shell: ShellRunner = field(default_factory=check_shell)
    checks: Sequence[str] = ()
    git: GitRunner = field(default_factory=GitRunner)
    cache: SummaryCache = field(default_factory=SummaryCache)
    pull_requests: PullRequests | None = None
    github: GitHubDelivery | None = None
    github_repo: str | None = None
    deployer: Deploys | None = None
    workspaces: Sequence[Path] = ()
    """`[coding] workspaces`: the checkouts a call without a workspace of its own (HTTP MCP) may name."""

    def _in(self, context: ToolContext, workspace: str | None) -> ToolContext:
        """The context to act in: the call's own workspace (a run, stdio `--workspace`), or the allowed one the
        call names; never an arbitrary path."""
        return in_workspace(context, workspace, self.workspaces)

    # ------------------------------------------------------------------------------------------------ reads

    def map(
        self,
        task: Annotated[str, "What you are about to change; the map ranks files by relevance to it."],
        context: ToolContext,
        budget_tokens: Annotated[int, "Largest map size in tokens (about 4 characters each)."] = 2048,
        workspace: Annotated[str | None, _WORKSPACE] = None,
    ) -> str:
        """The repository map: files with their classes and functions (signatures), most relevant first."""
        context = self._in(context, workspace)
        repo = RepoMap(resolve_in_workspace(context, "."), self.cache)
        return repo.render(repo.rank(task), max(128, min(budget_tokens, 64_000)))

    def search(
        self,
        query: Annotated[str, "A symbol name or text to find."],
        context: ToolContext,
        limit: int = 20,
        workspace: Annotated[str | None, _WORKSPACE] = None,
    ) -> list[dict[str, Any]]:
        """Find symbol definitions by name, then lines containing the text, in the workspace's source files."""
        context = self._in(context, workspace)
        root = resolve_in_workspace(context, ".")
        repo = RepoMap(root, self.cache)
        wanted = query.strip()
        if not wanted:
            raise InvalidInput("the search query is empty")
        limit = max(1, min(limit, _SEARCH_HITS))
        summaries = repo.summaries()
        hits: list[dict[str, Any]] = [
            {"path": s.path, "line": sym.line, "text": sym.signature, "kind": "definition"}
            for s in summaries
            for sym in s.symbols
            if sym.name == wanted
        ]
        pattern = re.compile(re.escape(wanted), re.IGNORECASE)
        for summary in summaries:
            path = root / summary.path
            if path.stat().st_size > _MAX_SEARCH_FILE:
                continue
            for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
                if len(hits) >= limit:
                    return hits
                if pattern.search(line):
                    hits.append(
                        {"path": summary.path, "line": number, "text": line.strip()[:200], "kind": "text"}
                    )
        return hits[:limit]

    # ---------------------------------------------------------------------------------------- workspace writes

    def edit(
        self,
        edits: Annotated[str, "SEARCH/REPLACE blocks (path line first) or a unified diff."],
        context: ToolContext,
        workspace: Annotated[str | None, _WORKSPACE] = None,
    ) -> ToolResult[dict[str, Any]]:
        """Apply edits to the workspace's files: exact match, then ignoring indentation; refusals explain why."""
        context = self._in(context, workspace)
        blocks = parse_edits(edits)
        before: dict[str, str | None] = {}
        after: dict[str, str] = {}
        refused: list[str] = []
        for block in blocks:
            try:
                target = resolve_in_workspace(context, block.path)
            except WorkspaceError as error:
                refused.append(f"{block.path}: {error.message}")
                continue
            if block.path not in before:
                before[block.path] = _read(target)
            current = after.get(block.path, before[block.path])
            try:
                after[block.path] = apply_block(current, block)
            except EditRefused as error:
                refused.append(error.message)
        for path, content in after.items():
            _write(resolve_in_workspace(context, path), content)
        value = {"applied": sorted(after), "refused": refused, "blocks": len(blocks)}
        shown_before = {p: (c or "")[:_STATE_CHARS] for p, c in before.items() if p in after}
        shown_after = {p: c[:_STATE_CHARS] for p, c in after.items()}
        return ToolResult(value, before=shown_before, after=shown_after)

    async def test(
        self,
        context: ToolContext,
        command: Annotated[str | None, "A check command; default: the repository's detected checks."] = None,
        workspace: Annotated[str | None, _WORKSPACE] = None,
    ) -> dict[str, Any]:
        """Run the project's checks (or one command) in the sandbox: no network, time and output limits."""
        context = self._in(context, workspace)
        root = resolve_in_workspace(context, ".")
        checks = [Check("custom", command)] if command else detect_checks(root, self.checks)
        results: list[CheckResult] = []
        for check in checks:
            shell = await self.shell.run(f"export {_CHECK_ENV}; {check.command}", context)
            results.append(CheckResult.of_shell(check, shell))
        return {
            "passed": any(r.passed for r in results) and not any(r.blocking for r in results),
            "detected": [c.to_record() for c in checks],
            "results": [r.to_record() for r in results],
        }

    async def commit(
        self,
        message: Annotated[str, "The commit message: what changed and why."],
        branch: Annotated[str, "The new branch to commit on."],
        context: ToolContext,
        workspace: Annotated[str | None, _WORKSPACE] = None,
    ) -> ToolResult[dict[str, Any]]:
        """Commit every change of the workspace on a new branch (created when missing)."""
        context = self._in(context, workspace)
        _check_branch(branch)
        if not message.strip():
            raise InvalidInput("the commit message is empty; say what changed and why")
        root = resolve_in_workspace(context, ".")
        before = await self.git.head(root)
        await self.git.branch(root, branch)
        commit = await self.git.commit_all(root, message)
        value = {"branch": branch, "commit": commit or before, "created": commit is not None}
        return ToolResult(value, before={"head": before}, after={"head": commit or before})

    # ------------------------------------------------------------------------------------ the outside world

    async def push(
        self,
        branch: Annotated[str, "The branch to push."],
        context: ToolContext,
        remote: Annotated[str | None, "A remote URL or path; default: the clone's origin."] = None,
        workspace: Annotated[str | None, _WORKSPACE] = None,
    ) -> dict[str, Any]:
        """Push the branch to the remote; a branch the remote already has at this commit is not pushed again."""
        context = self._in(context, workspace)
        _check_branch(branch)
        root = resolve_in_workspace(context, ".")
        if self.github is not None and remote is None:
            repo = self._repo(await self.git.remote_url(root))
            return {**(await self.github.push(repo, root, branch, self.git)), "repo": repo}
        url = remote or await self.git.remote_url(root)
        if url is None:
            raise DeliveryFailed("the repository has no origin remote; give the remote to push to")
        return {**(await self.git.push(root, url, branch)), "remote": _shown_url(url)}

    @property
    def _pulls(self) -> PullRequests:
        pulls = self.github or self.pull_requests
        if pulls is None:
            raise DeliveryFailed("no pull-request service is configured; add [connectors.github]")
        return pulls

    def _repo(self, remote_url: str | None) -> str:
        repo = self.github_repo or (repository_slug(remote_url) if remote_url else None)
        if repo is None:
            raise DeliveryFailed("cannot tell the GitHub repository; set [coding] github_repo = 'owner/name'")
        return repo

    async def pull_request(
        self,
        title: Annotated[str, "The pull request's title."],
        body: Annotated[str, "The task, the diff summary and the test evidence."],
        branch: Annotated[str, "The pushed branch (head)."],
        base: Annotated[str, "The branch to merge into."],
        context: ToolContext,
        workspace: Annotated[str | None, _WORKSPACE] = None,
    ) -> dict[str, Any]:
        """Open a draft pull request, or return the one already open for the branch (never a second one)."""
        context = self._in(context, workspace)
        pulls = self._pulls
        root = resolve_in_workspace(context, ".")
        repo = self._repo(await self.git.remote_url(root))
        found = await pulls.find_open(repo, branch)
        if found is not None:
            return {**found.to_record(), "repo": repo, "created": False}
        pull = await pulls.open_pull_request(
            repo, title=title[:250], body=body[:60_000], head=branch, base=base, draft=True
        )
        return {**pull.to_record(), "repo": repo, "created": True}

    async def read_checks(
        self,
        ref: Annotated[str, "A branch or commit."],
        context: ToolContext,
        workspace: Annotated[str | None, _WORKSPACE] = None,
    ) -> list[dict[str, Any]]:
        """The CI check runs reported for a branch or commit."""
        context = self._in(context, workspace)
        pulls = self._pulls
        repo = self._repo(await self.git.remote_url(resolve_in_workspace(context, ".")))
        return [c.to_record() for c in await pulls.read_checks(repo, ref)]

    async def pull_request_state(
        self,
        number: Annotated[int, "The pull request's number."],
        context: ToolContext,
        workspace: Annotated[str | None, _WORKSPACE] = None,
    ) -> dict[str, Any]:
        """Whether a pull request is `open`, `merged` or `closed` (without merging)."""
        context = self._in(context, workspace)
        repo = self._repo(await self.git.remote_url(resolve_in_workspace(context, ".")))
        state = await self._pulls.pull_state(repo, number)
        return {"number": number, "state": state, "checked_at": time.time(), "summary": f"#{number} {state}"}

    async def deploy(
        self,
        context: ToolContext,
        workspace: Annotated[str | None, _WORKSPACE] = None,
    ) -> dict[str, Any]:
        """Run the configured deploy command, verify the health URL, and roll back when it fails."""
        context = self._in(context, workspace)
        if self.deployer is None:
            raise DeliveryFailed(
                "no deploy is configured; set [coding] deploy_command or deploy = 'FLY_CONNECTOR:APP'"
            )
        result = await self.deployer.deploy(resolve_in_workspace(context, "."))
        return result.to_record()


_BRANCH = re.compile(r"^(?!-)(?!.*\.\.)(?!.*//)[A-Za-z0-9._/-]{1,120}(?<![./])$")


def _check_branch(branch: str) -> None:
    if not _BRANCH.match(branch) or branch.endswith(".lock"):
        raise InvalidInput(f"{branch[:80]!r} is not a usable branch name (letters, digits, . _ / - only)")


def _shown_url(url: str) -> str:
    return re.sub(r"//[^@/]+@", "//", url)


def register_code_tools(registry: ToolRegistry, tools: CodeTools) -> ToolRegistry:
    read, write = SideEffect.READ, SideEffect.WRITE
    registry.add(tools.map, name="code.map", group="code", effect=read)
    registry.add(tools.search, name="code.search", group="code", effect=read)
    registry.add(tools.edit, name="code.edit", group="code", effect=write)
    registry.add(tools.test, name="code.test", group="code", effect=write, timeout=_test_timeout(tools.shell))
    registry.add(tools.commit, name="code.commit", group="code", effect=write)
    registry.add(tools.push, name="code.push", group="code", effect=write)
    registry.add(tools.pull_request, name="code.pr", group="code", effect=write)
    registry.add(tools.read_checks, name="code.checks", group="code", effect=read)
    registry.add(tools.pull_request_state, name="code.pr_state", group="code", effect=read)
    registry.add(tools.deploy, name="code.deploy", group="code", effect=write)
    return registry


def _test_timeout(shell: ShellRunner) -> float:
    settings: ShellSettings = shell.settings
    return float(settings.timeout_seconds) * 4 + 30
