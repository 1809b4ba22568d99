"""The `[tools]` section: approval rules, limits, workspace roots and the built-in tools' own settings.

It lives in core so `Settings` can hold it; `sophia.tools` re-exports the models and turns `policy` into an
`ApprovalPolicy` (which also checks the role names, known only to `accounts`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["DECISIONS", "ShellSettings", "ToolSettings", "WebFetchSettings"]

DECISIONS = ("auto", "ask", "deny")
DecisionName = Literal["auto", "ask", "deny"]
_PATTERN = re.compile(r"^(?:\*|[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*(?:\.\*)?)$")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WebFetchSettings(_Section):
    allow_private_networks: bool = Field(
        default=False,
        description="Let web.fetch reach private, loopback and link-local addresses (SSRF risk).",
    )
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Hosts (or host:port) web.fetch may reach even when they resolve to private addresses.",
    )
    max_bytes: int = Field(default=5_000_000, gt=0, description="Largest body read; the rest is cut off.")
    timeout_seconds: float = Field(default=20.0, gt=0)
    max_redirects: int = Field(default=5, ge=0, le=20)
    max_text_chars: int = Field(default=100_000, gt=0)

    @field_validator("allowed_hosts")
    @classmethod
    def _check_hosts(cls, value: list[str]) -> list[str]:
        for host in value:
            if not host or any(c in host for c in "/@ ") or "://" in host:
                raise ValueError(f"{host[:80]!r} is not a host or host:port (no scheme, no path)")
        return value


class ShellSettings(_Section):
    allow_unsandboxed: bool = Field(
        default=False, description="Run shell.run without bubblewrap when it is missing (no isolation!)."
    )
    bwrap_path: str | None = Field(default=None, description="bubblewrap binary; default: `bwrap` on PATH.")
    timeout_seconds: float = Field(default=60.0, gt=0)
    max_output_bytes: int = Field(default=200_000, gt=0)


class ToolSettings(_Section):
    """`[tools]`: `policy` maps a tool name, `prefix.*` or `*` to roles (or `*`) and auto | ask | deny."""

    policy: dict[str, dict[str, DecisionName]] = Field(
        default_factory=dict,
        description="Tool name, 'prefix.*' or '*' -> role name or '*' -> auto | ask | deny.",
    )
    timeout_seconds: float = Field(default=120.0, gt=0, description="Default time limit of one tool call.")
    max_output_bytes: int = Field(default=100_000, gt=0, description="Longer output is cut with a marker.")
    workspace_roots: list[Path] = Field(
        default_factory=list,
        description="Directories under which a run may be given an existing workspace "
        "(SOPHIA_HOME/workspaces is always allowed).",
    )
    web: WebFetchSettings = WebFetchSettings()
    shell: ShellSettings = ShellSettings()

    @field_validator("policy")
    @classmethod
    def _check_patterns(cls, value: dict[str, dict[str, DecisionName]]) -> dict[str, dict[str, DecisionName]]:
        for pattern in value:
            if not _PATTERN.match(pattern):
                raise ValueError(f"{pattern!r} is not a tool name, a 'prefix.*' pattern or '*'")
        return value

    @field_validator("workspace_roots")
    @classmethod
    def _check_roots(cls, value: list[Path]) -> list[Path]:
        for root in value:
            if not root.is_absolute():
                raise ValueError(f"{str(root)[:200]!r} is relative; workspace roots must be absolute paths")
        return value
