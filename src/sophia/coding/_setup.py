"""Building the coding parts from `sophia.toml`: the `code` tools with `[coding]`'s limits and delivery settings."""

from __future__ import annotations

from sophia.coding._delivery import Deployer, GitHubPullRequests, PullRequests
from sophia.coding._gitops import GitRunner
from sophia.coding._repomap import SummaryCache
from sophia.coding._tools import CodeTools
from sophia.config import Settings, ShellSettings
from sophia.secrets import SecretResolver
from sophia.tools import ShellRunner

__all__ = ["code_tools_for"]


def code_tools_for(settings: Settings, *, pull_requests: PullRequests | None = None) -> CodeTools:
    """The secret token is resolved here, at build time, and kept only in the git runner and the HTTP client."""
    coding = settings.coding
    token = (
        SecretResolver.for_settings(settings).resolve(coding.github_token) if coding.github_token else None
    )
    shell = ShellSettings(
        allow_unsandboxed=settings.tools.shell.allow_unsandboxed,
        bwrap_path=settings.tools.shell.bwrap_path,
        timeout_seconds=coding.check_timeout_seconds,
        max_output_bytes=coding.check_output_bytes,
    )
    if pull_requests is None and (token is not None or coding.github_api_url != "https://api.github.com"):
        pull_requests = GitHubPullRequests(token, base_url=coding.github_api_url)
    deployer = (
        Deployer(coding.deploy_command, coding.deploy_health_url, coding.rollback_command)
        if coding.deploy_command
        else None
    )
    return CodeTools(
        shell=ShellRunner(shell),
        checks=tuple(coding.checks),
        git=GitRunner(token=token),
        cache=SummaryCache(settings.home / "cache" / "repomap"),
        pull_requests=pull_requests,
        github_repo=coding.github_repo,
        deployer=deployer,
    )
