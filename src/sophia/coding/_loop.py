"""The coding loop: map, edit, check, feed failures back, review, commit, push, open the PR, remember the outcome.

Every edit, check and git operation is a step of the session, so in a durable run a replay after a crash
returns the recorded results: an edit is not applied twice and a branch is not pushed twice.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sophia.coding._checks import CheckResult, failure_digest
from sophia.coding._gitops import GitFailed, GitRunner
from sophia.coding._lessons import CodingLessons
from sophia.coding._prompts import (
    CHARS_PER_TOKEN,
    SYSTEM,
    feedback_message,
    fit_window,
    review_messages,
    task_message,
)
from sophia.coding._repomap import RepoMap, SummaryCache, estimate_tokens
from sophia.coding._session import CodeSession
from sophia.coding._weakening import is_test_file, weakened_tests
from sophia.errors import SophiaError
from sophia.memory import Embedder

__all__ = ["CodingOptions", "CodingResult", "CodingTask"]

_FILE_TOKENS = 6000
_MAX_POLL_SECONDS = 300.0
_MAX_FILES = 4
_RESERVED_TOKENS = 1536
_ANSWER_TOKENS = 768


@dataclass(frozen=True, slots=True)
class CodingOptions:
    source: str
    branch: str | None = None
    push: bool = True
    base: str | None = None
    max_attempts: int = 4
    map_tokens: int = 2048
    test_command: str | None = None
    deploy: bool = False
    """After the pull request: wait for its merge, then deploy (held for approval as a `code.deploy` call)."""
    merge_wait_seconds: float = 3600.0
    merge_poll_seconds: float = 30.0
    namespace: str | None = None
    remote: str | None = None
    """Where to push: default the clone's origin (for a local path, set it to that repository's own origin)."""
    context_tokens: int | None = None
    """The model's context window: the map and the files shown are cut to fit it (a 4k local model, say)."""

    def to_record(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> CodingOptions:
        return cls(**{k: v for k, v in record.items() if k in cls.__slots__})


@dataclass
class CodingResult:
    status: str = "failed"
    """`resolved`, `failed` or `unverified` (no checks were found to prove the change)."""
    attempts: int = 0
    files: list[str] = field(default_factory=list)
    diff: str = ""
    checks: list[dict[str, Any]] = field(default_factory=list)
    checks_before: list[dict[str, Any]] = field(default_factory=list)
    weakened: list[str] = field(default_factory=list)
    refused: int = 0
    edits: int = 0
    tests_detected: bool = False
    review: str = ""
    branch: str | None = None
    commit: str | None = None
    push: dict[str, Any] | None = None
    pull_request: dict[str, Any] | None = None
    pr_checks: list[dict[str, Any]] | None = None
    deploy: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)
    cost_usd: float = 0.0
    models: list[str] = field(default_factory=list)
    model_outcomes: list[dict[str, Any]] = field(default_factory=list)
    """Per attempt, the model that wrote the edit and whether the checks then passed (fed to the gateway)."""

    @property
    def edits_clean(self) -> bool:
        return self.refused == 0

    def to_record(self) -> dict[str, Any]:
        record = dict(self.__dict__)
        record["edits_clean"] = self.edits_clean
        return record

    def summary(self) -> str:
        lines = [
            f"status: {self.status} after {self.attempts} attempt(s); files: {', '.join(self.files) or '-'}"
        ]
        lines += [f"check {c['name']}: {c['status']}" for c in self.checks]
        if self.weakened:
            lines.append("tests weakened: " + "; ".join(self.weakened))
        if self.branch:
            lines.append(f"branch {self.branch} at {self.commit}")
        if self.push:
            lines.append("pushed" if self.push.get("pushed") else f"push: {self.push}")
        if self.pull_request:
            lines.append(f"pull request: {self.pull_request.get('url')}")
        if self.deploy:
            image = f" {self.deploy['image']}" if self.deploy.get("image") else ""
            health = self.deploy.get("health_status")
            lines.append(
                f"deploy: {self.deploy.get('status')}{image}" + (f" (health {health})" if health else "")
            )
        lines += [f"problem: {p}" for p in self.problems]
        return "\n".join(lines)


def _branch_for(task: str, run_id: str | None) -> str:
    words = re.sub(r"[^a-z0-9]+", "-", task.lower()).strip("-")[:40].strip("-") or "change"
    return f"sophia/{words}-{(run_id or 'local')[-8:]}"


def _first_line(task: str) -> str:
    line = task.strip().splitlines()[0] if task.strip() else "change"
    return line if len(line) <= 68 else line[:65] + "..."


class CodingTask:
    """One task on one repository checkout (the session's workspace)."""

    def __init__(
        self,
        session: CodeSession,
        workspace: Path,
        options: CodingOptions,
        *,
        lessons: CodingLessons | None = None,
        git: GitRunner | None = None,
        cache: SummaryCache | None = None,
        embedder: Embedder | None = None,
    ) -> None:
        self.session = session
        self.workspace = workspace
        self.options = options
        self.lessons = lessons
        self.git = git or GitRunner()
        self.cache = cache or SummaryCache()
        self.embedder = embedder
        self.result = CodingResult()
        self.base_branch = options.base or "main"

    # ------------------------------------------------------------------------------------------- preparation

    async def _prepare(self) -> str:
        async def clone() -> dict[str, Any]:
            try:
                await self.git.clone(self.options.source, self.workspace)
                if self.options.remote:
                    await self.git.run(self.workspace, "remote", "set-url", "origin", self.options.remote)
                head = await self.git.head(self.workspace)
                branch = await self.git.current_branch(self.workspace)
            except GitFailed as error:
                return {"status": "error", "message": error.message}
            return {"status": "ok", "head": head, "branch": branch, "summary": f"{branch} at {head}"}

        data = await self.session.local("git.clone", clone, once=False)
        if data.get("status") != "ok":
            raise SophiaError(f"the repository could not be cloned: {data.get('message')}")
        self.base_branch = self.options.base or str(data["branch"])
        return str(data["head"])

    async def _recall(self, task: str) -> list[str]:
        lessons, namespace = self.lessons, self.options.namespace
        if lessons is None or namespace is None:
            return []

        async def recall() -> dict[str, Any]:
            found = await lessons.recall(task, namespace=namespace)
            return {"lessons": found, "summary": f"{len(found)} earlier outcome(s)"}

        return list((await self.session.local("memory.recall", recall))["lessons"])

    def _budgets(self) -> tuple[int, int]:
        """(map tokens, file tokens): the defaults, or a share of the model's context window that leaves room
        for the instructions, the feedback of a later attempt and the answer."""
        window = self.options.context_tokens
        if window is None:
            return self.options.map_tokens, _FILE_TOKENS
        # `estimate_tokens` counts four characters a token; the model's own tokenizer may take three.
        room = max(256, (window - _RESERVED_TOKENS) * CHARS_PER_TOKEN // 4)
        map_tokens = min(self.options.map_tokens, room // 3)
        return map_tokens, room - map_tokens

    def _files_for(self, task: str) -> tuple[str, list[tuple[str, str]]]:
        repo = RepoMap(self.workspace, self.cache, embedder=self.embedder)
        ranked = repo.rank(task)
        map_tokens, file_tokens = self._budgets()
        files: list[tuple[str, str]] = []
        used = 0
        for item in ranked[: _MAX_FILES * 3]:
            text = (self.workspace / item.summary.path).read_text(errors="replace")
            if used + estimate_tokens(text) > file_tokens or len(files) >= _MAX_FILES:
                continue
            files.append((item.summary.path, text))
            used += estimate_tokens(text)
        return repo.render(ranked, map_tokens), files

    async def _context(self, task: str) -> dict[str, Any]:
        async def gather() -> dict[str, Any]:
            repo_map, files = self._files_for(task)
            return {
                "map": repo_map,
                "files": files,
                "summary": f"map of {len(repo_map)} chars, {len(files)} files",
            }

        return await self.session.local("code.map", gather)

    # ------------------------------------------------------------------------------------------------ checks

    async def _check(self, label: str) -> list[CheckResult]:
        arguments = {"command": self.options.test_command} if self.options.test_command else {}
        outcome = await self.session.tool("code.test", arguments, label=label)
        if not outcome.ok:
            raise SophiaError(f"the checks could not run: {outcome.message}")
        self.result.tests_detected = bool(outcome.output["detected"])
        return [CheckResult.from_record(r) for r in outcome.output["results"]]

    async def _weakened(self, base: str) -> list[str]:
        async def compare() -> dict[str, Any]:
            changed = [p for p in await self.git.changed_files(self.workspace, base) if is_test_file(p)]
            before = {p: await self.git.show(self.workspace, base, p) for p in changed}
            after = {p: _read(self.workspace / p) for p in changed}
            found = weakened_tests(before, after)
            return {"weakened": found, "summary": "; ".join(found) or "no test weakened"}

        return list((await self.session.local("code.weakening", compare))["weakened"])

    # -------------------------------------------------------------------------------------------------- loop

    async def run(self, task: str) -> CodingResult:
        result = self.result
        try:
            base = await self._prepare()
            await self._loop(task, base)
            if result.status == "resolved":
                await self._deliver(task, base)
        except SophiaError as error:
            result.problems.append(error.message)
        result.cost_usd, result.models = self.session.cost_usd, list(self.session.models)
        await self._remember(task)
        return result

    async def _loop(self, task: str, base: str) -> None:
        result = self.result
        lessons = await self._recall(task)
        gathered = await self._context(task)
        result.checks_before = [c.to_record() for c in await self._check("before")]
        messages = [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": task_message(task, gathered["map"], gathered["files"], lessons)},
        ]
        for attempt in range(1, self.options.max_attempts + 1):
            result.attempts = attempt
            prompt = fit_window(messages, self.options.context_tokens, _ANSWER_TOKENS)
            reply = await self.session.model(prompt, purpose=f"edit-{attempt}")
            messages.append({"role": "assistant", "content": reply.text})
            edit = await self.session.tool("code.edit", {"edits": reply.text}, label=str(attempt))
            refused = list(edit.output["refused"]) if edit.ok else [edit.message]
            result.edits += 1
            result.refused += len(refused)
            if edit.ok and not edit.output["applied"]:
                result.model_outcomes.append({"model": reply.model, "attempt": attempt, "solved": False})
                await self.session.record_outcome(reply, 0.0)
                messages.append({"role": "user", "content": feedback_message(refused, "", [])})
                continue
            checks = await self._check(f"after-{attempt}")
            result.checks = [c.to_record() for c in checks]
            result.weakened = await self._weakened(base)
            solved = not any(c.blocking for c in checks) and not result.weakened
            result.model_outcomes.append({"model": reply.model, "attempt": attempt, "solved": solved})
            await self.session.record_outcome(reply, 1.0 if solved else 0.0)
            if solved:
                proven = result.tests_detected and any(c.passed for c in checks)
                result.status = "resolved" if proven else "unverified"
                if not proven:
                    missing = [c.command for c in checks if c.status == "unavailable"]
                    result.problems.append(
                        "no check proved the change"
                        + (f" (not installed in the sandbox: {', '.join(missing)})" if missing else "")
                    )
                break
            feedback = feedback_message(refused, failure_digest(checks), result.weakened)
            messages.append({"role": "user", "content": feedback})
        result.files = await self._changed(base)

    async def _changed(self, base: str) -> list[str]:
        async def changed() -> dict[str, Any]:
            files = await self.git.changed_files(self.workspace, base)
            diff = await self.git.diff(self.workspace, base)
            return {"files": files, "diff": diff, "summary": ", ".join(files) or "no change"}

        data = await self.session.local("git.diff", changed)
        self.result.diff = str(data["diff"])
        return list(data["files"])

    # -------------------------------------------------------------------------------------------- delivery

    def _message(self, task: str) -> str:
        result = self.result
        before = ", ".join(f"{c['name']} {c['status']}" for c in result.checks_before) or "none"
        after = ", ".join(f"{c['name']} {c['status']}" for c in result.checks) or "none"
        return (
            f"{_first_line(task)}\n\n{task.strip()[:2000]}\n\n"
            f"Files: {', '.join(result.files)}\nChecks before the change: {before}\n"
            f"Checks after the change: {after}\n\nWritten by Sophia's coding orchestrator "
            f"({result.attempts} attempt(s); models: {', '.join(sorted(set(self.session.models))) or 'none'})."
        )

    async def _deliver(self, task: str, base: str) -> None:
        result = self.result
        review = await self.session.model(review_messages(task, result.diff), purpose="review")
        result.review = review.text.strip()[:4000]
        branch = self.options.branch or _branch_for(task, self.session.context.run_id)
        commit = await self.session.tool("code.commit", {"message": self._message(task), "branch": branch})
        if not commit.ok:
            raise SophiaError(f"the commit failed: {commit.message}")
        result.branch, result.commit = branch, str(commit.output["commit"])
        if not self.options.push:
            return
        pushed = await self.session.tool("code.push", {"branch": branch})
        if not pushed.ok:
            result.problems.append(f"push {pushed.status}: {pushed.message}")
            return
        result.push = dict(pushed.output)
        await self._open_pull_request(task, branch)
        if self.options.deploy and result.pull_request is not None:
            await self._deploy_after_merge(int(result.pull_request["number"]))

    async def _deploy_after_merge(self, number: int) -> None:
        """Poll the pull request with back-off until it is merged, closed or the wait budget is spent; only a
        merged one is deployed. Each poll is a run step stamped with its wall time, so a resumed run replays the
        polls it made without sleeping again, keeps the same budget, and never deploys twice."""
        result, options = self.result, self.options
        delay, poll, started = max(options.merge_poll_seconds, 0.01), 0, None
        while True:
            poll += 1
            seen = await self.session.tool("code.pr_state", {"number": number}, label=str(poll))
            state = str(seen.output.get("state")) if seen.ok else f"unreadable ({seen.message})"
            checked_at = float(seen.output.get("checked_at", time.time())) if seen.ok else time.time()
            started = checked_at if started is None else started
            if state == "merged":
                break
            if state != "open" or checked_at + delay > started + options.merge_wait_seconds:
                result.deploy = {"status": "not_deployed", "pull_request": state}
                if state == "open":
                    result.problems.append(f"pull request #{number} was not merged within the wait")
                return
            await asyncio.sleep(max(0.0, checked_at + delay - time.time()))
            delay = min(delay * 2, _MAX_POLL_SECONDS)
        deployed = await self.session.tool("code.deploy", {})
        result.deploy = dict(deployed.output) if deployed.ok else {"status": deployed.status}
        if result.deploy["status"] in ("rolled_back", "failed"):
            result.problems.append(f"the deploy {result.deploy['status'].replace('_', ' ')}")

    async def _open_pull_request(self, task: str, branch: str) -> None:
        result = self.result
        evidence = (
            "\n".join(f"- `{c['command']}`: {c['status']}" for c in result.checks) or "- no checks were found"
        )
        before = "\n".join(f"- `{c['command']}`: {c['status']}" for c in result.checks_before) or "- none"
        body = (
            f"## Task\n\n{task.strip()[:4000]}\n\n## Change\n\nFiles: {', '.join(result.files)}\n\n"
            f"```diff\n{result.diff[:12_000]}\n```\n\n## Evidence\n\nBefore:\n{before}\n\nAfter:\n{evidence}\n\n"
            f"## Self-review\n\n{result.review}\n\nOpened as a draft by Sophia's coding orchestrator."
        )
        arguments = {"title": _first_line(task), "body": body, "branch": branch, "base": self.base_branch}
        opened = await self.session.tool("code.pr", arguments)
        if not opened.ok:
            result.problems.append(f"pull request {opened.status}: {opened.message}")
            return
        result.pull_request = dict(opened.output)
        checks = await self.session.tool("code.checks", {"ref": branch})
        result.pr_checks = list(checks.output) if checks.ok else None

    async def _remember(self, task: str) -> None:
        lessons, namespace, result = self.lessons, self.options.namespace, self.result
        if lessons is None or namespace is None:
            return
        failing = sorted({c["name"] for c in result.checks_before + result.checks if c["status"] == "failed"})

        async def remember() -> dict[str, Any]:
            memory_id = await lessons.remember(
                namespace=namespace,
                task=task,
                status=result.status,
                files=result.files,
                failing_checks=failing,
                fix=result.diff[:1500],
                cost_usd=self.session.cost_usd,
                models=self.session.models,
                run_id=self.session.context.run_id,
            )
            return {"memory_id": memory_id, "summary": f"outcome remembered in {namespace}"}

        try:
            await self.session.local("memory.remember", remember, once=True)
        except SophiaError as error:
            result.problems.append(f"the outcome was not remembered: {error.message}")


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
