"""Delivery: draft pull requests and their checks behind a small Protocol, and a deploy with health check and rollback.

`GitHubDelivery` (`_github.py`) implements the Protocol on the GitHub connector; `InMemoryPullRequests` is the
real-code double.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import httpx

from sophia.errors import SophiaError

__all__ = [
    "CheckRun",
    "DeployResult",
    "Deployer",
    "Deploys",
    "FlyDeployer",
    "DeliveryFailed",
    "InMemoryPullRequests",
    "PullRequest",
    "PullRequests",
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

    def to_record(self) -> dict[str, Any]:
        return {"status": self.status, "output": self.output[-4000:], "health_status": self.health_status}


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
    """The Fly.io connector's actions the deploy uses (`machines.list`, `deploy`)."""

    async def machines(self, app_name: str) -> list[dict[str, Any]]: ...

    async def deploy(self, app_name: str, image: str, wait_seconds: int = ...) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class FlyDeployer:
    """`[coding] deploy = "CONNECTOR:APP"`: the Fly connector rolls `image` out (leased per machine, put back when
    a machine does not start); a health URL that stays unhealthy puts every machine back on its previous image."""

    fly: FlyLike
    app: str
    image: str
    health_url: str | None = None
    health_seconds: float = 60.0
    transport: httpx.AsyncBaseTransport | None = None

    async def deploy(self, cwd: Path) -> DeployResult:
        try:
            before = [str(m.get("image") or "") for m in await self.fly.machines(self.app)]
            done = await self.fly.deploy(self.app, self.image)
        except SophiaError as error:  # the connector already put the machines it moved back
            return DeployResult("rolled_back", f"Fly.io {self.app}: {error.message}", None)
        output = f"Fly.io {self.app}: {self.image} on {len(done.get('machines', []))} machine(s)"
        health = await wait_healthy(self.health_url, self.health_seconds, self.transport)
        if health is not None and 200 <= health < 300:
            return DeployResult("deployed", output, health)
        previous = next((image for image in before if image and image != self.image), None)
        if previous is None:
            return DeployResult("failed", output + "\n(no previous image to roll back to)", health)
        try:
            await self.fly.deploy(self.app, previous)
        except SophiaError as error:
            return DeployResult("failed", output + f"\n--- rollback ---\n{error.message}", health)
        return DeployResult("rolled_back", output + f"\n--- rollback ---\nback on {previous}", health)


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
