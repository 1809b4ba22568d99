"""Delivery: draft pull requests and their checks behind a small Protocol, and a deploy with health check and rollback.

`GitHubDelivery` (`_github.py`) implements the Protocol on the GitHub connector; `InMemoryPullRequests` is the
real-code double.
"""

from __future__ import annotations

import asyncio
import string
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import httpx

from sophia.coding._gitops import GitRunner
from sophia.errors import SophiaError

__all__ = [
    "CheckRun",
    "DeployResult",
    "Deployer",
    "Deploys",
    "FlyDeployer",
    "DeliveryFailed",
    "IMAGE_FIELDS",
    "InMemoryPullRequests",
    "PullRequest",
    "PullRequests",
    "image_fields",
    "image_for",
    "repository_slug",
]


class DeliveryFailed(SophiaError):
    code = "delivery_failed"
    http_status = 502


@dataclass(frozen=True, slots=True)
class PullRequest:
    number: int
    url: str
    head: str
    base: str
    draft: bool
    state: str = "open"

    def to_record(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "url": self.url,
            "head": self.head,
            "base": self.base,
            "draft": self.draft,
            "state": self.state,
        }


@dataclass(frozen=True, slots=True)
class CheckRun:
    name: str
    status: str
    conclusion: str | None

    def to_record(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "conclusion": self.conclusion}


class PullRequests(Protocol):
    async def find_open(self, repo: str, head: str) -> PullRequest | None: ...

    async def open_pull_request(
        self, repo: str, *, title: str, body: str, head: str, base: str, draft: bool = True
    ) -> PullRequest: ...

    async def read_checks(self, repo: str, ref: str) -> list[CheckRun]: ...

    async def pull_state(self, repo: str, number: int) -> str:
        """`open`, `merged` or `closed` (closed without merging)."""
        ...


def repository_slug(url: str) -> str | None:
    """`owner/name` of a GitHub-style remote URL (https or scp-like ssh), or None."""
    text = url.strip().removesuffix("/").removesuffix(".git")
    if text.startswith("git@") and ":" in text:
        text = text.split(":", 1)[1]
    elif "://" in text:
        text = text.split("://", 1)[1].split("/", 1)[1] if "/" in text.split("://", 1)[1] else ""
    else:
        return None
    parts = [p for p in text.split("/") if p]
    return f"{parts[-2]}/{parts[-1]}" if len(parts) >= 2 else None


@dataclass
class InMemoryPullRequests:
    """The double: keeps pull requests in a list; `checks` maps a ref to the check runs it reports."""

    pulls: list[tuple[str, PullRequest]] = field(default_factory=list)
    checks: dict[str, list[CheckRun]] = field(default_factory=dict)

    async def find_open(self, repo: str, head: str) -> PullRequest | None:
        return next((p for r, p in self.pulls if r == repo and p.head == head and p.state == "open"), None)

    async def open_pull_request(
        self, repo: str, *, title: str, body: str, head: str, base: str, draft: bool = True
    ) -> PullRequest:
        number = len(self.pulls) + 1
        pull = PullRequest(number, f"memory://{repo}/pull/{number}", head, base, draft)
        self.pulls.append((repo, pull))
        return pull

    async def read_checks(self, repo: str, ref: str) -> list[CheckRun]:
        return list(self.checks.get(ref, []))

    async def pull_state(self, repo: str, number: int) -> str:
        found = next((p for r, p in self.pulls if r == repo and p.number == number), None)
        if found is None:
            raise DeliveryFailed(f"{repo} has no pull request #{number}")
        return found.state

    def settle(self, number: int, state: str) -> None:
        """Mark a pull request `merged` or `closed`, as a person on GitHub would."""
        self.pulls = [(r, replace(p, state=state) if p.number == number else p) for r, p in self.pulls]


@dataclass(frozen=True, slots=True)
class DeployResult:
    status: str
    """`deployed`, `rolled_back` or `failed` (the rollback failed too)."""
    output: str
    health_status: int | None
    image: str | None = None
    """The image a Fly deploy rolled out (the template filled with the commit)."""

    def to_record(self) -> dict[str, Any]:
        record = {"status": self.status, "output": self.output[-4000:], "health_status": self.health_status}
        return record | ({"image": self.image} if self.image else {})


class Deploys(Protocol):
    async def deploy(self, cwd: Path) -> DeployResult: ...


async def wait_healthy(
    url: str | None, seconds: float, transport: httpx.AsyncBaseTransport | None = None
) -> int | None:
    """The health URL's status once it answers 2xx, else the last status seen within `seconds` (None: no answer)."""
    if url is None:
        return 200
    deadline = time.monotonic() + seconds
    status: int | None = None
    async with httpx.AsyncClient(transport=transport, timeout=10.0) as client:
        while True:
            try:
                status = (await client.get(url)).status_code
            except httpx.HTTPError:
                status = None
            if status is not None and 200 <= status < 300:
                return status
            if time.monotonic() >= deadline:
                return status
            await asyncio.sleep(1.0)


class FlyLike(Protocol):
    """The Fly.io connector's actions the deploy uses (`machines.list`, `deploy`, `machines.set_images`)."""

    async def machines(self, app_name: str) -> list[dict[str, Any]]: ...

    async def deploy(self, app_name: str, image: str, wait_seconds: int = ...) -> dict[str, Any]: ...

    async def set_images(
        self, app_name: str, images: dict[str, str], wait_seconds: int = ...
    ) -> dict[str, Any]: ...


IMAGE_FIELDS = ("sha", "short_sha")
"""What `[coding] deploy_image` may name: `registry.fly.io/web:{sha}` is filled with the deployed commit."""


def image_fields(template: str) -> set[str]:
    """The `{field}`s a deploy image template names (ValueError on a malformed template)."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def image_for(template: str, sha: str) -> str:
    unknown = image_fields(template) - set(IMAGE_FIELDS)
    if unknown:
        raise DeliveryFailed(
            f"the deploy image {template!r} names {sorted(unknown)}; use {{sha}} or {{short_sha}}"
        )
    return template.format(sha=sha, short_sha=sha[:12])


@dataclass(frozen=True, slots=True)
class FlyDeployer:
    """`[coding] deploy = "CONNECTOR:APP"`: the Fly connector rolls the image of the workspace's commit out
    (`image` may name `{sha}`; leased per machine, put back when a machine does not start); a health URL that
    stays unhealthy puts each machine back on the image it ran before (its own, not one for all)."""

    fly: FlyLike
    app: str
    image: str
    health_url: str | None = None
    health_seconds: float = 60.0
    transport: httpx.AsyncBaseTransport | None = None
    git: GitRunner = field(default_factory=GitRunner)

    async def deploy(self, cwd: Path) -> DeployResult:
        image = image_for(self.image, await self.git.head(cwd)) if image_fields(self.image) else self.image
        try:
            before = {str(m["id"]): str(m.get("image") or "") for m in await self.fly.machines(self.app)}
            done = await self.fly.deploy(self.app, image)
        except SophiaError as error:  # the connector already put the machines it moved back
            return DeployResult("rolled_back", f"Fly.io {self.app}: {error.message}", None, image)
        output = f"Fly.io {self.app}: {image} on {len(done.get('machines', []))} machine(s)"
        health = await wait_healthy(self.health_url, self.health_seconds, self.transport)
        if health is not None and 200 <= health < 300:
            return DeployResult("deployed", output, health, image)
        back = {machine: old for machine, old in before.items() if old and old != image}
        if not back:
            return DeployResult("failed", output + "\n(no previous image to roll back to)", health, image)
        try:
            restored = await self.fly.set_images(self.app, back)
        except SophiaError as error:
            return DeployResult("failed", output + f"\n--- rollback ---\n{error.message}", health, image)
        lines = [f"{m['id']} back on {m['image']}" for m in restored.get("machines", [])]
        lines += [f"{m['id']} NOT back on {m['image']}: {m['error']}" for m in restored.get("failed", [])]
        status = "failed" if restored.get("failed") else "rolled_back"
        return DeployResult(status, output + "\n--- rollback ---\n" + "\n".join(lines), health, image)


@dataclass(frozen=True, slots=True)
class Deployer:
    """A configured deploy command, a health URL that must answer 2xx within `health_seconds`, and a rollback."""

    command: str
    health_url: str | None = None
    rollback_command: str | None = None
    health_seconds: float = 60.0
    timeout_seconds: float = 900.0
    transport: httpx.AsyncBaseTransport | None = None

    async def _shell(self, command: str, cwd: Path) -> tuple[int | None, str]:
        process = await asyncio.create_subprocess_exec(
            "/bin/sh", "-c", command, cwd=cwd, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        try:
            out, _ = await asyncio.wait_for(process.communicate(), self.timeout_seconds)
        except TimeoutError:
            process.kill()
            await process.wait()
            return None, f"{command!r} did not finish within {self.timeout_seconds:g} s"
        return process.returncode, out.decode("utf-8", "replace")

    async def _healthy(self) -> int | None:
        return await wait_healthy(self.health_url, self.health_seconds, self.transport)

    async def deploy(self, cwd: Path) -> DeployResult:
        code, output = await self._shell(self.command, cwd)
        health = await self._healthy() if code == 0 else None
        if code == 0 and health is not None and 200 <= health < 300:
            return DeployResult("deployed", output, health)
        if self.rollback_command is None:
            return DeployResult("failed", output + "\n(no rollback command configured)", health)
        rollback_code, rollback_output = await self._shell(self.rollback_command, cwd)
        status = "rolled_back" if rollback_code == 0 else "failed"
        return DeployResult(status, output + "\n--- rollback ---\n" + rollback_output, health)
