"""The approval policy: defaults by side effect, rules by tool and role, and floors no rule can lift."""

from __future__ import annotations

import pytest

from sophia.accounts import Role
from sophia.errors import ConfigError
from sophia.tools import ApprovalPolicy, Decision, SideEffect, ToolRegistry, ToolSettings


def _tools() -> ToolRegistry:
    registry = ToolRegistry()
    for name, effect in (
        ("workspace.read", "read"),
        ("workspace.write", "write"),
        ("workspace.delete", "destroy"),
        ("web.fetch", "read"),
    ):
        registry.add(lambda: None, name=name, group="code", effect=effect, description=name)
    return registry


def _decide(policy: ApprovalPolicy, name: str, role: Role) -> Decision:
    return policy.decide(_tools().get(name), role)


@pytest.mark.parametrize(
    ("name", "role", "expected"),
    [
        ("workspace.read", Role.MEMBER, Decision.AUTO),
        ("workspace.write", Role.MEMBER, Decision.ASK),
        ("workspace.delete", Role.ADMIN, Decision.ASK),
        ("workspace.write", Role.VIEWER, Decision.DENY),
        ("workspace.read", Role.VIEWER, Decision.AUTO),
        ("workspace.read", Role.PENDING, Decision.DENY),
    ],
)
def test_defaults_follow_the_side_effect_and_role(name: str, role: Role, expected: Decision) -> None:
    assert _decide(ApprovalPolicy(), name, role) is expected


def test_the_most_specific_rule_wins() -> None:
    policy = ApprovalPolicy(
        {
            "*": {"*": "deny"},
            "workspace.*": {"*": "ask", "admin": "auto"},
            "workspace.write": {"member": "auto"},
        }
    )
    assert _decide(policy, "workspace.write", Role.MEMBER) is Decision.AUTO
    assert _decide(policy, "workspace.read", Role.MEMBER) is Decision.ASK
    assert _decide(policy, "workspace.read", Role.ADMIN) is Decision.AUTO
    assert _decide(policy, "web.fetch", Role.MEMBER) is Decision.DENY


def test_only_admins_may_have_destroy_set_to_auto() -> None:
    policy = ApprovalPolicy({"workspace.delete": {"*": "auto"}})
    assert _decide(policy, "workspace.delete", Role.ADMIN) is Decision.AUTO
    assert _decide(policy, "workspace.delete", Role.MEMBER) is Decision.ASK


def test_no_rule_lets_a_pending_account_call_anything() -> None:
    assert _decide(ApprovalPolicy({"*": {"*": "auto"}}), "workspace.read", Role.PENDING) is Decision.DENY


@pytest.mark.parametrize(
    ("rules", "problem"),
    [
        ({"workspace.write": {"owner": "auto"}}, "unknown role 'owner'"),
        ({"Workspace Write": {"*": "auto"}}, "is not a tool name"),
        ({"workspace.write": {"member": "sometimes"}}, "workspace.write.member"),
    ],
)
def test_bad_rules_are_a_config_error_naming_the_problem(
    rules: dict[str, dict[str, str]], problem: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        ApprovalPolicy(rules)
    assert problem in " ".join(caught.value.problems)


def test_settings_model_embeds_the_policy_and_limits() -> None:
    settings = ToolSettings.model_validate(
        {"policy": {"workspace.write": {"member": "auto"}}, "web": {"allowed_hosts": ["intranet"]}}
    )
    assert ApprovalPolicy.from_settings(settings).rules == {"workspace.write": {"member": Decision.AUTO}}
    assert settings.web.allowed_hosts == ["intranet"] and not settings.shell.allow_unsandboxed
    assert SideEffect("destroy") is SideEffect.DESTROY
