"""`[[mcp_servers]]` entries, tool naming and side-effect mapping."""

from __future__ import annotations

import re

import mcp_types as types
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

import sophia.mcp
from sophia.mcp import McpServerSettings, effect_of, local_tool_name
from sophia.tools import SideEffect

_REGISTRY_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def test_public_names_are_exported() -> None:
    assert sorted(sophia.mcp.__all__) == sorted(set(sophia.mcp.__all__))
    for name in sophia.mcp.__all__:
        assert hasattr(sophia.mcp, name), name


def test_server_needs_exactly_one_of_command_or_url() -> None:
    with pytest.raises(ValidationError, match="exactly one"):
        McpServerSettings(name="both", command="x", url="http://127.0.0.1/mcp")
    with pytest.raises(ValidationError, match="exactly one"):
        McpServerSettings(name="neither")


def test_headers_only_for_url_and_env_only_for_command() -> None:
    with pytest.raises(ValidationError, match="headers apply to `url`"):
        McpServerSettings(name="a", command="x", headers={"Authorization": "env:TOKEN"})
    with pytest.raises(ValidationError, match="apply to `command`"):
        McpServerSettings(name="a", url="https://mcp.example/mcp", env={"TOKEN": "env:TOKEN"})


def test_describe_names_env_and_headers_but_never_their_values() -> None:
    server = McpServerSettings(
        name="gh", url="https://mcp.example/mcp", headers={"Authorization": "Bearer sekrit"}
    )
    assert "sekrit" not in str(server.describe())
    assert server.describe()["headers"] == ["Authorization"]


@given(st.text(min_size=1, max_size=40).filter(lambda s: any(c.isalnum() and c.isascii() for c in s)))
def test_local_tool_name_is_always_a_valid_registry_word(remote: str) -> None:
    assert _REGISTRY_NAME.match(local_tool_name(remote))


def test_local_tool_name_turns_camel_and_dashes_into_snake_case() -> None:
    assert local_tool_name("getWeather") == "get_weather"
    assert local_tool_name("list-open-issues") == "list_open_issues"
    assert local_tool_name("2fa") == "t_2fa"


def _tool(**hints: bool) -> types.Tool:
    return types.Tool(name="t", input_schema={"type": "object"}, annotations=types.ToolAnnotations(**hints))


def test_effect_comes_from_annotations_and_config_overrides_it() -> None:
    assert effect_of(_tool(read_only_hint=True), {}) is SideEffect.READ
    assert effect_of(_tool(destructive_hint=True), {}) is SideEffect.DESTROY
    assert effect_of(_tool(), {}) is SideEffect.WRITE
    assert effect_of(types.Tool(name="t", input_schema={"type": "object"}), {}) is SideEffect.WRITE
    assert effect_of(_tool(destructive_hint=True), {"t": SideEffect.READ}) is SideEffect.READ
