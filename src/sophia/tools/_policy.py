"""The approval policy: per tool and per role, `auto`, `ask` or `deny` — decided by config, never by arguments."""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sophia.accounts import Role
from sophia.errors import ConfigError
from sophia.tools._model import SideEffect, Tool

__all__ = ["ApprovalPolicy", "Decision", "ShellSettings", "ToolSettings", "WebFetchSettings"]

_PATTERN = re.compile(r"^(?:\*|[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*(?:\.\*)?)$")
_ROLE_KEYS = frozenset({"*", *(role.value for role in Role)})


class Decision(enum.StrEnum):
    AUTO = "auto"
    ASK = "ask"
    DENY = "deny"


_DEFAULTS: dict[SideEffect, Decision] = {
    SideEffect.READ: Decision.AUTO,
    SideEffect.WRITE: Decision.ASK,
    SideEffect.DESTROY: Decision.ASK,
}


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


class ShellSettings(_Section):
    allow_unsandboxed: bool = Field(
        default=False, description="Run shell.run without bubblewrap when it is missing (no isolation!)."
    )
    bwrap_path: str | None = Field(default=None, description="bubblewrap binary; default: `bwrap` on PATH.")
    timeout_seconds: float = Field(default=60.0, gt=0)
    max_output_bytes: int = Field(default=200_000, gt=0)


class ToolSettings(_Section):
    """The `[tools]` section: approval rules, limits, and the built-in tools' own settings."""

    policy: dict[str, dict[str, Decision]] = Field(
        default_factory=dict,
        description="Tool name, 'prefix.*' or '*' -> role name or '*' -> auto | ask | deny.",
    )
    timeout_seconds: float = Field(default=120.0, gt=0, description="Default time limit of one tool call.")
    max_output_bytes: int = Field(default=100_000, gt=0, description="Longer output is cut with a marker.")
    web: WebFetchSettings = WebFetchSettings()
    shell: ShellSettings = ShellSettings()

    @field_validator("policy")
    @classmethod
    def _check_policy(cls, value: dict[str, dict[str, Decision]]) -> dict[str, dict[str, Decision]]:
        for pattern, roles in value.items():
            if not _PATTERN.match(pattern):
                raise ValueError(f"{pattern!r} is not a tool name, a 'prefix.*' pattern or '*'")
            unknown = sorted(set(roles) - _ROLE_KEYS)
            if unknown:
                raise ValueError(
                    f"{pattern}: unknown role {unknown[0]!r}; use one of {', '.join(sorted(_ROLE_KEYS))}"
                )
        return value


class ApprovalPolicy:
    """Most specific rule wins (exact name, then longer prefix, then '*'; a named role before '*').

    Fixed floors no rule can lift: a pending account may call nothing, and only admins may set `destroy`
    tools to `auto`. With no rule: read -> auto, write/destroy -> ask, and viewers may only read.
    """

    def __init__(self, rules: Mapping[str, Mapping[str, str]] | None = None) -> None:
        try:
            self.rules: dict[str, dict[str, Decision]] = ToolSettings.model_validate(
                {"policy": rules or {}}
            ).policy
        except ValidationError as error:
            problems = [
                f"tools.policy.{'.'.join(map(str, e['loc'][1:]))}: {e['msg']}" for e in error.errors()
            ]
            raise ConfigError(f"the tool approval policy is invalid: {problems[0]}", problems) from None

    @classmethod
    def from_settings(cls, settings: ToolSettings) -> ApprovalPolicy:
        return cls(settings.policy)

    def decide(self, tool: Tool, role: Role) -> Decision:
        if role is Role.PENDING:
            return Decision.DENY
        decision = self._configured(tool.name, role) or _default(tool.effect, role)
        if tool.effect is SideEffect.DESTROY and decision is Decision.AUTO and role is not Role.ADMIN:
            return Decision.ASK
        return decision

    def _configured(self, name: str, role: Role) -> Decision | None:
        for pattern in _patterns(name):
            roles = self.rules.get(pattern)
            if roles is None:
                continue
            found = roles.get(role.value) or roles.get("*")
            if found is not None:
                return found
        return None

    def describe(self) -> dict[str, Any]:
        return {pattern: {r: d.value for r, d in roles.items()} for pattern, roles in self.rules.items()}


def _patterns(name: str) -> list[str]:
    parts = name.split(".")
    prefixes = [".".join(parts[:i]) + ".*" for i in range(len(parts) - 1, 0, -1)]
    return [name, *prefixes, "*"]


def _default(effect: SideEffect, role: Role) -> Decision:
    if role is Role.VIEWER and effect is not SideEffect.READ:
        return Decision.DENY
    return _DEFAULTS[effect]
