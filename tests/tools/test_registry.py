"""The registry: schemas from signatures, argument checks with paths, names and exported definitions."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field

import sophia.tools
from sophia.tools import (
    SideEffect,
    ToolArgumentError,
    ToolContext,
    ToolRegistry,
    UnknownTool,
)


class Filter(BaseModel):
    field: str
    value: int


def search(
    query: Annotated[str, "What to look for."],
    limit: Annotated[int, Field(ge=1, le=50)] = 10,
    mode: Literal["fast", "deep"] = "fast",
    tags: list[str] | None = None,
    filters: list[Filter] | None = None,
    context: ToolContext | None = None,
) -> list[str]:
    """Search the notes.

    Args:
        mode: How hard to look.
    """
    return [query] * limit


@pytest.fixture
def searching() -> ToolRegistry:
    registry = ToolRegistry()
    registry.add(search, name="notes.search", group="data")
    return registry


def test_public_names_are_exported() -> None:
    assert sorted(sophia.tools.__all__) == sorted(n for n in dir(sophia.tools) if not n.startswith("_"))


def test_schema_is_derived_from_the_signature_with_descriptions(searching: ToolRegistry) -> None:
    tool = searching.get("notes.search")
    schema = tool.input_schema
    assert schema["type"] == "object"
    assert schema["required"] == ["query"]
    assert schema["additionalProperties"] is False
    properties = schema["properties"]
    assert set(properties) == {"query", "limit", "mode", "tags", "filters"}  # the context is not asked for
    assert properties["query"]["description"] == "What to look for."
    assert properties["mode"]["description"] == "How hard to look."
    assert properties["mode"]["enum"] == ["fast", "deep"]
    assert properties["limit"]["minimum"] == 1 and properties["limit"]["maximum"] == 50
    assert tool.description == "Search the notes."
    assert tool.context_parameter == "context"


def test_openai_and_mcp_definitions_carry_the_schema_and_hints(searching: ToolRegistry) -> None:
    @searching.tool("notes.purge", group="data", effect=SideEffect.DESTROY)
    def purge() -> None:
        """Remove every note."""

    openai = {d["function"]["name"]: d for d in searching.openai_definitions()}
    assert set(openai) == {"notes_search", "notes_purge"}  # model APIs refuse dots in names
    assert openai["notes_search"]["function"]["parameters"] == searching.get("notes.search").input_schema
    mcp = {d["name"]: d for d in searching.mcp_definitions("data")}
    assert mcp["notes.search"]["annotations"]["readOnlyHint"] is True
    assert mcp["notes.purge"]["annotations"] == {
        "readOnlyHint": False,
        "destructiveHint": True,
        "idempotentHint": False,
    }
    assert mcp["notes.purge"]["inputSchema"]["properties"] == {}
    assert searching.get("notes_purge").name == "notes.purge"


def test_groups_list_every_mcp_server_even_when_empty(searching: ToolRegistry) -> None:
    groups = searching.groups()
    assert list(groups)[:6] == ["memory", "research", "code", "infra", "data", "integrations"]
    assert [t.name for t in groups["data"]] == ["notes.search"]
    assert groups["infra"] == []


def test_unknown_tool_suggests_close_names(searching: ToolRegistry) -> None:
    with pytest.raises(UnknownTool, match="did you mean 'notes.search'") as caught:
        searching.get("notes.serch")
    assert caught.value.suggestions == ["notes.search"]


def test_argument_errors_name_each_problem_with_its_path(searching: ToolRegistry) -> None:
    with pytest.raises(ToolArgumentError) as caught:
        searching.validate(
            "notes.search",
            {"limit": 0, "mode": "slow", "filters": [{"field": "a", "value": "x"}], "extra": 1},
        )
    problems = caught.value.problems
    assert any(p.startswith("query:") and "required" in p for p in problems)
    assert any(p.startswith("limit:") for p in problems)
    assert any(p.startswith("mode:") for p in problems)
    assert any(p.startswith("filters[0].value:") for p in problems)
    assert any(p.startswith("extra:") for p in problems)


def test_arguments_may_arrive_as_json_text(searching: ToolRegistry) -> None:
    assert searching.validate("notes.search", '{"query": "x", "limit": 3}').model_dump()["limit"] == 3
    with pytest.raises(ToolArgumentError, match="not valid JSON"):
        searching.validate("notes.search", "{query")
    with pytest.raises(ToolArgumentError, match="must be a JSON object"):
        searching.validate("notes.search", "[1, 2]")


def test_registration_refuses_untyped_or_duplicate_or_badly_named_tools() -> None:
    registry = ToolRegistry()

    def untyped(x) -> None:  # type: ignore[no-untyped-def]
        """Has no annotation."""

    def variadic(*items: str) -> None:
        """Takes anything."""

    def fine(x: int) -> int:
        """Fine."""
        return x

    with pytest.raises(TypeError, match="needs a type annotation"):
        registry.add(untyped, name="a.untyped", group="data")
    with pytest.raises(TypeError, match=r"\*args"):
        registry.add(variadic, name="a.variadic", group="data")
    with pytest.raises(ValueError, match="dotted lower-case"):
        registry.add(fine, name="Bad Name", group="data")
    registry.add(fine, name="a.fine", group="data")
    with pytest.raises(ValueError, match="already registered"):
        registry.add(fine, name="a.fine", group="data")
    with pytest.raises(ValueError, match="already registered"):
        registry.add(fine, name="a_fine", group="data")  # same wire name


_valid_filter = st.fixed_dictionaries({"field": st.text(max_size=10), "value": st.integers()})
_valid_args = st.fixed_dictionaries(
    {"query": st.text(max_size=30)},
    optional={
        "limit": st.integers(1, 50),
        "mode": st.sampled_from(["fast", "deep"]),
        "tags": st.none() | st.lists(st.text(max_size=5), max_size=4),
        "filters": st.none() | st.lists(_valid_filter, max_size=3),
    },
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(arguments=_valid_args)
def test_random_valid_arguments_pass_validation(searching: ToolRegistry, arguments: dict[str, Any]) -> None:
    checked = searching.validate("notes.search", arguments).model_dump()
    assert checked["query"] == arguments["query"]
    assert checked["limit"] == arguments.get("limit", 10)


_not_int = st.text(max_size=4).filter(lambda s: not s.strip().lstrip("-+").isdigit()) | st.lists(
    st.integers()
)
_breakages: list[tuple[str, st.SearchStrategy[Any], str]] = [
    ("limit", st.integers(51, 10**6) | st.integers(-(10**6), 0) | _not_int, "limit"),
    ("mode", st.text(max_size=8).filter(lambda s: s not in ("fast", "deep")), "mode"),
    ("query", st.integers() | st.none() | st.lists(st.text()), "query"),
    ("tags", st.integers() | st.lists(st.integers(), min_size=1), "tags"),
]


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(arguments=_valid_args, breakage=st.sampled_from(_breakages), data=st.data())
def test_random_invalid_arguments_are_rejected_with_a_path(
    searching: ToolRegistry,
    arguments: dict[str, Any],
    breakage: tuple[str, st.SearchStrategy[Any], str],
    data: st.DataObject,
) -> None:
    key, bad_values, path = breakage
    arguments = {**arguments, key: data.draw(bad_values)}
    with pytest.raises(ToolArgumentError) as caught:
        searching.validate("notes.search", arguments)
    assert any(problem.startswith(path) for problem in caught.value.problems), caught.value.problems
