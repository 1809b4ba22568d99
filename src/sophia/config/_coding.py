"""The `[coding]` section: how the coding orchestrator checks, delivers and deploys a change."""

from __future__ import annotations

import string
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["CodingSettings"]


class CodingSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = Field(default="sophia/coding", description="The gateway model or task the coder asks.")
    checks: list[str] = Field(
        default_factory=list,
        description="Commands run after each edit (in the sandbox); empty: detected from the repository.",
    )
    python: Path | None = Field(
        default=None,
        description="The Python environment (a virtualenv or prefix) the checks run with, bound read-only in the"
        " sandbox; default: the one Sophia runs on.",
    )
    check_timeout_seconds: float = Field(default=600.0, gt=0, le=7200)
    check_output_bytes: int = Field(default=200_000, gt=0)
    max_attempts: int = Field(default=4, ge=1, le=50, description="Edit-and-check rounds before giving up.")
    map_tokens: int = Field(default=2048, ge=128, le=64_000, description="The repository map's token budget.")
    push: bool = Field(default=True, description="Push the branch and open a draft pull request.")
    base_branch: str | None = Field(
        default=None, description="The pull request's base; default: the clone's."
    )
    github: str | None = Field(
        default=None,
        description="The GitHub connector ([connectors.NAME]) that pushes and opens pull requests; default: the"
        " only one configured.",
    )
    github_repo: str | None = Field(default=None, description="`owner/name`; default: from the remote URL.")
    deploy_command: str | None = Field(default=None, description="Run on the host after an approved deploy.")
    deploy_health_url: str | None = None
    deploy_health_seconds: float = Field(
        default=60.0, gt=0, le=3600, description="How long the health URL has to answer 2xx after a deploy."
    )
    deploy: str | None = Field(
        default=None,
        description="`CONNECTOR:APP`: deploy through that Fly.io connector's `deploy` action (instead of"
        " deploy_command), rolling deploy_image out to the app's machines.",
        pattern=r"^[A-Za-z0-9_-]+:[A-Za-z0-9_-]+$",
    )
    deploy_image: str | None = Field(
        default=None,
        description="The image a Fly deploy rolls out; `{sha}` (or `{short_sha}`) is filled with the deployed"
        " commit, e.g. `registry.fly.io/web:{sha}`, so each deploy rolls to that commit's image.",
    )
    deploy_after_merge: bool = Field(
        default=True,
        description="With a deploy_command, a code run waits for its pull request's merge, then deploys (approved).",
    )
    merge_wait_seconds: float = Field(
        default=3600.0, gt=0, description="How long a code run waits for the merge."
    )
    merge_poll_seconds: float = Field(
        default=30.0, gt=0, description="The first poll interval (doubling to 300)."
    )
    rollback_command: str | None = None
    workspaces: list[Path] = Field(
        default_factory=list,
        description="Checkouts the HTTP MCP `code` tools may work in: a call names one (its path or folder"
        " name) in its `workspace` argument; any other path is refused.",
    )

    @field_validator("deploy_image")
    @classmethod
    def _image_template(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            fields = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
        except ValueError as error:
            raise ValueError(f"deploy_image is not a valid template ({error})") from None
        if fields - {"sha", "short_sha"}:
            raise ValueError(f"deploy_image may name only {{sha}} and {{short_sha}}, not {sorted(fields)}")
        return value
