"""Building the coding parts from `sophia.toml`: the `code` tools with `[coding]`'s limits and delivery settings."""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

from sophia.coding._checks import check_shell
from sophia.coding._delivery import DeliveryFailed, Deployer, Deploys, FlyDeployer, FlyLike, PullRequests
from sophia.coding._github import github_delivery
from sophia.coding._gitops import GitRunner
from sophia.coding._repomap import SummaryCache
from sophia.coding._tools import CodeTools
from sophia.config import Settings, ShellSettings
from sophia.connectors import Connector

__all__ = ["code_tools_for"]


def code_tools_for(
    settings: Settings,
    *,
    connectors: Iterable[Connector] = (),
    pull_requests: PullRequests | None = None,
) -> CodeTools:
    """Push and pull requests go through the GitHub connector (`[coding] github`, or the only one configured)."""
    coding = settings.coding
    connectors_seen = list(connectors)
    shell = ShellSettings(
        allow_unsandboxed=settings.tools.shell.allow_unsandboxed,
        bwrap_path=settings.tools.shell.bwrap_path,
        timeout_seconds=coding.check_timeout_seconds,
        max_output_bytes=coding.check_output_bytes,
    )
    deployer: Deploys | None = (
        Deployer(
            coding.deploy_command,
            coding.deploy_health_url,
            coding.rollback_command,
            coding.deploy_health_seconds,
        )
        if coding.deploy_command
        else None
    )
    if coding.deploy is not None:
        deployer = _fly_deployer(settings, connectors_seen)
    return CodeTools(
        shell=check_shell(shell, coding.python),
        checks=tuple(coding.checks),
        git=GitRunner(),
        cache=SummaryCache(settings.home / "cache" / "repomap"),
        pull_requests=pull_requests,
        github=github_delivery(connectors_seen, coding.github),
        github_repo=coding.github_repo,
        deployer=deployer,
        workspaces=tuple(coding.workspaces),
    )


def _fly_deployer(settings: Settings, connectors: list[Connector]) -> FlyDeployer:
    coding = settings.coding
    name, _, app = str(coding.deploy).partition(":")
    found = next((c for c in connectors if c.name == name and c.kind == "fly"), None)
    if found is None:
        raise DeliveryFailed(
            f"[coding] deploy = {coding.deploy!r} names no Fly.io connector ([connectors.{name}])"
        )
    if not coding.deploy_image:
        raise DeliveryFailed("[coding] deploy names a Fly.io app; set [coding] deploy_image too")
    return FlyDeployer(
        cast(FlyLike, found), app, coding.deploy_image, coding.deploy_health_url, coding.deploy_health_seconds
    )
