"""`ToolRegistry`: every tool Sophia can call, by name and by group (each group is one MCP server)."""

from __future__ import annotations

import difflib
import inspect
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel

from sophia.tools._errors import UnknownTool
from sophia.tools._model import SideEffect, Tool, ToolContext
from sophia.tools._schema import arguments_model, check_arguments, docstring_summary

__all__ = ["TOOL_GROUPS", "ToolRegistry"]

TOOL_GROUPS = ("memory", "research", "code", "infra", "data", "integrations")
"""The MCP servers of the roadmap; a tool belongs to exactly one."""

_NAME = re.compile(r"^[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*$")
_GROUP = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
_MAX_NAME = 64

F = TypeVar("F", bound=Callable[..., Any])


class ToolRegistry:
    """Tools by name; exports OpenAI-style and MCP-style definitions so both come from one source."""

    def __init__(self, tools: Iterable[Tool] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        self._wire: dict[str, str] = {}
        for tool in tools:
            self.register(tool)

    def add(
        self,
        function: Callable[..., Any],
        *,
        name: str,
        group: str,
        effect: SideEffect | str = SideEffect.READ,
        description: str | None = None,
        timeout: float | None = None,
        precheck: Callable[[BaseModel, ToolContext], Awaitable[None]] | None = None,
        tags: tuple[str, ...] = (),
    ) -> Tool:
        """Describe `function` (sync or async) from its signature and docstring, and register it."""
        if not _NAME.match(name) or len(name) > _MAX_NAME:
            raise ValueError(f"tool name {name!r} must be dotted lower-case words, e.g. 'memory.recall'")
        if not _GROUP.match(group):
            raise ValueError(f"tool group {group!r} must be a lower-case word, e.g. one of {TOOL_GROUPS}")
        spec = arguments_model(function, name)
        text = description if description is not None else docstring_summary(function)
        if not text:
            raise ValueError(f"tool {name} needs a description (pass one, or give the function a docstring)")
        tool = Tool(
            name=name,
            description=text,
            group=group,
            effect=SideEffect(effect),
            function=function,
            arguments=spec.model,
            input_schema=spec.schema,
            is_async=inspect.iscoroutinefunction(function),
            context_parameter=spec.context_parameter,
            timeout=timeout,
            precheck=precheck,
            tags=tags,
        )
        return self.register(tool)

    def tool(
        self,
        name: str,
        *,
        group: str,
        effect: SideEffect | str = SideEffect.READ,
        description: str | None = None,
        timeout: float | None = None,
    ) -> Callable[[F], F]:
        """Decorator form of `add`; the function itself is returned unchanged."""

        def register(function: F) -> F:
            self.add(
                function, name=name, group=group, effect=effect, description=description, timeout=timeout
            )
            return function

        return register

    def register(self, tool: Tool) -> Tool:
        wire = tool.wire_name
        if tool.name in self._tools or wire in self._wire:
            raise ValueError(f"a tool named {tool.name!r} (or {wire!r}) is already registered")
        self._tools[tool.name] = tool
        self._wire[wire] = tool.name
        return tool

    def get(self, name: str) -> Tool:
        """The tool by its dotted name or its wire name; UnknownTool suggests close names."""
        found = self._tools.get(name) or self._tools.get(self._wire.get(name, ""))
        if found is None:
            choices = [*self._tools, *self._wire]
            close = difflib.get_close_matches(name, choices, n=3, cutoff=0.6)
            raise UnknownTool(name, sorted({self._wire.get(c, c) for c in close}))
        return found

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (name in self._tools or name in self._wire)

    def __len__(self) -> int:
        return len(self._tools)

    def tools(self, group: str | None = None) -> list[Tool]:
        """Sorted by name; only `group`'s tools when given."""
        return sorted((t for t in self._tools.values() if group in (None, t.group)), key=lambda t: t.name)

    def groups(self) -> dict[str, list[Tool]]:
        """Every known group (empty ones included) with its tools."""
        names = dict.fromkeys([*TOOL_GROUPS, *sorted({t.group for t in self._tools.values()})])
        return {group: self.tools(group) for group in names}

    def validate(self, name: str, arguments: Mapping[str, Any] | str | None) -> BaseModel:
        tool = self.get(name)
        return check_arguments(tool.name, tool.arguments, arguments)

    def openai_definitions(self, group: str | None = None) -> list[dict[str, Any]]:
        return [tool.openai_definition() for tool in self.tools(group)]

    def mcp_definitions(self, group: str | None = None) -> list[dict[str, Any]]:
        return [tool.mcp_definition() for tool in self.tools(group)]
