"""The approval policy: per tool and per role, `auto`, `ask` or `deny` — decided by config, never by arguments."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from sophia.accounts import Role
from sophia.config import ShellSettings, ToolSettings, WebFetchSettings
from sophia.errors import ConfigError
from sophia.tools._model import SideEffect, Tool

__all__ = ["BUILTIN_RULES", "ApprovalPolicy", "Decision", "ShellSettings", "ToolSettings", "WebFetchSettings"]

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

BUILTIN_RULES: dict[str, dict[str, Decision]] = {
    # Add-only and reversible: it writes a new memory into the caller's own namespace (never another's),
    # and `memory.forget` undoes it. Members and admins need no approval; `[tools.policy]` can say otherwise.
    "memory.remember": {"admin": Decision.AUTO, "member": Decision.AUTO},
    # The coding orchestrator's workspace-only writes: edits, sandboxed checks and local commits in the run's
    # own clone, undone with git. Push, pull request and deploy reach the world and keep the default (ask).
    "code.edit": {"admin": Decision.AUTO, "member": Decision.AUTO},
    "code.test": {"admin": Decision.AUTO, "member": Decision.AUTO},
    "code.commit": {"admin": Decision.AUTO, "member": Decision.AUTO},
}
"""Rules that hold unless `[tools.policy]` names the same tool (or a more specific pattern) for the role."""


class ApprovalPolicy:
    """Most specific rule wins (exact name, then longer prefix, then '*'; a named role before '*').

    Configured rules are consulted before `BUILTIN_RULES`, then the defaults. Fixed floors no rule can lift:
    a pending account may call nothing, and only admins may set `destroy` tools to `auto`. With no rule:
    read -> auto, write/destroy -> ask, and viewers may only read.
    """

    def __init__(
        self,
        rules: Mapping[str, Mapping[str, str]] | None = None,
        *,
        builtin: Mapping[str, Mapping[str, Decision]] | None = None,
    ) -> None:
        try:
            policy = ToolSettings.model_validate({"policy": rules or {}}).policy
        except ValidationError as error:
            problems = [
                f"tools.policy.{'.'.join(map(str, e['loc'][1:]))}: {e['msg']}" for e in error.errors()
            ]
            raise ConfigError(f"the tool approval policy is invalid: {problems[0]}", problems) from None
        problems = [
            f"tools.policy.{pattern}: unknown role {role!r}; use one of {', '.join(sorted(_ROLE_KEYS))}"
            for pattern, roles in policy.items()
            for role in roles
            if role not in _ROLE_KEYS
        ]
        if problems:
            raise ConfigError(f"the tool approval policy is invalid: {problems[0]}", problems)
        self.rules: dict[str, dict[str, Decision]] = {
            pattern: {role: Decision(value) for role, value in roles.items()}
            for pattern, roles in policy.items()
        }
        self.builtin = dict(BUILTIN_RULES if builtin is None else builtin)

    @classmethod
    def from_settings(cls, settings: ToolSettings) -> ApprovalPolicy:
        return cls(settings.policy)

    def decide(self, tool: Tool, role: Role) -> Decision:
        if role is Role.PENDING:
            return Decision.DENY
        decision = (
            _configured(self.rules, tool.name, role)
            or _configured(self.builtin, tool.name, role)
            or _default(tool.effect, role)
        )
        if tool.effect is SideEffect.DESTROY and decision is Decision.AUTO and role is not Role.ADMIN:
            return Decision.ASK
        return decision

    def describe(self) -> dict[str, Any]:
        return {pattern: {r: d.value for r, d in roles.items()} for pattern, roles in self.rules.items()}


def _configured(rules: Mapping[str, Mapping[str, Decision]], name: str, role: Role) -> Decision | None:
    for pattern in _patterns(name):
        roles = rules.get(pattern)
        if roles is None:
            continue
        found = roles.get(role.value) or roles.get("*")
        if found is not None:
            return found
    return None


def _patterns(name: str) -> list[str]:
    parts = name.split(".")
    prefixes = [".".join(parts[:i]) + ".*" for i in range(len(parts) - 1, 0, -1)]
    return [name, *prefixes, "*"]


def _default(effect: SideEffect, role: Role) -> Decision:
    if role is Role.VIEWER and effect is not SideEffect.READ:
        return Decision.DENY
    return _DEFAULTS[effect]
