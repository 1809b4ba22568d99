"""Sophia's MCP servers: one per tool group plus `all`, each listing whatever the registry holds for it.

Built on the SDK's low-level `Server` rather than `MCPServer`: tools are not Python functions to decorate here but
registry entries with schemas already derived, listed live so a newly registered tool appears without code.
Every call goes through `ToolInvoker`, so the caller's role, the approval policy and the audit trail all apply.
"""

from __future__ import annotations

from typing import Any

import mcp_types as types
from mcp.server import Server, ServerRequestContext

import sophia
from mcp import MCPError
from sophia.errors import SophiaError
from sophia.mcp._caller import caller_context
from sophia.mcp._errors import UnknownMcpServer
from sophia.mcp._resources import MemoryResources
from sophia.mcp._runs import RunResources
from sophia.mcp._runtime import McpRuntime
from sophia.tools import (
    TOOL_GROUPS,
    ApprovalRequired,
    Decision,
    SideEffect,
    Tool,
    ToolCallResult,
    ToolContext,
    UnknownTool,
)

__all__ = ["SERVER_NAMES", "build_server", "held_for_approval"]

SERVER_NAMES = (*TOOL_GROUPS, "all")
"""The servers `sophia mcp serve NAME` knows: one per tool group, and `all` for every tool."""

Context = ServerRequestContext[Any, Any]


def _definition(tool: Tool) -> types.Tool:
    return types.Tool(
        name=tool.name,
        description=tool.description,
        input_schema=tool.input_schema,
        annotations=types.ToolAnnotations(
            read_only_hint=tool.effect is SideEffect.READ,
            destructive_hint=tool.effect is SideEffect.DESTROY,
            idempotent_hint=tool.effect is SideEffect.READ,
        ),
    )


def _text(text: str, *, error: bool = False, structured: Any = None) -> types.CallToolResult:
    return types.CallToolResult(
        content=[types.TextContent(text=text)], is_error=error, structured_content=structured
    )


def held_for_approval(held: ApprovalRequired) -> types.CallToolResult:
    """What a write answers when the policy says `ask`: nothing ran, and here is the approval to decide."""
    approval = held.approval
    text = (
        f"held for approval, id {approval.id}: {approval.tool} has not run. A person must approve it"
        f" (approval {approval.id}); the approved call then runs once."
    )
    status = {"status": "held_for_approval", "approval_id": approval.id, "tool": approval.tool}
    return _text(text, structured=status)


def _succeeded(result: ToolCallResult) -> types.CallToolResult:
    structured = result.output if isinstance(result.output, dict) else None
    return _text(result.text, structured=structured)


class _Handlers:
    def __init__(self, name: str, runtime: McpRuntime) -> None:
        self.name = name
        self.group = None if name == "all" else name
        self.runtime = runtime
        self.memory = MemoryResources(runtime) if name in ("memory", "all") else None
        self.runs = RunResources(runtime.runs if name == "all" else None)

    @property
    def has_memory(self) -> bool:
        return self.memory is not None and self.memory.available

    def context(self, ctx: Context) -> ToolContext:
        return caller_context(ctx, self.runtime.context, self.name)

    def visible(self, context: ToolContext) -> list[Tool]:
        """The group's tools the caller may call at all (denied ones are not offered)."""
        policy = self.runtime.invoker.policy
        return [
            t
            for t in self.runtime.registry.tools(self.group)
            if policy.decide(t, context.role) != Decision.DENY
        ]

    def tool(self, name: str) -> Tool:
        try:
            found = self.runtime.registry.get(name)
        except UnknownTool as error:
            raise MCPError(types.INVALID_PARAMS, error.message) from None
        if self.group is not None and found.group != self.group:
            raise MCPError(
                types.INVALID_PARAMS, f"the {self.name} MCP server has no tool named {name[:80]!r}"
            )
        return found

    async def list_tools(
        self, ctx: Context, params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=[_definition(tool) for tool in self.visible(self.context(ctx))])

    async def call_tool(self, ctx: Context, params: types.CallToolRequestParams) -> types.CallToolResult:
        context = self.context(ctx)
        tool = self.tool(params.name)
        try:
            result = await self.runtime.invoker.invoke(tool.name, params.arguments or {}, context)
        except ApprovalRequired as held:
            return held_for_approval(held)
        except SophiaError as error:
            return _text(error.message, error=True)
        return _succeeded(result)

    async def list_resources(
        self, ctx: Context, params: types.PaginatedRequestParams | None
    ) -> types.ListResourcesResult:
        context = self.context(ctx)
        found = self.memory.resources() if self.memory is not None else []
        return types.ListResourcesResult(resources=[*found, *await self.runs.resources(context)])

    async def list_templates(
        self, ctx: Context, params: types.PaginatedRequestParams | None
    ) -> types.ListResourceTemplatesResult:
        self.context(ctx)
        found = self.memory.templates() if self.memory is not None else []
        return types.ListResourceTemplatesResult(resource_templates=[*found, *self.runs.templates()])

    async def read_resource(
        self, ctx: Context, params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        uri, context = str(params.uri), self.context(ctx)
        if self.runs.available and self.runs.owns(uri):
            return await self.runs.read(uri, context)
        if self.memory is None:
            raise MCPError(types.INVALID_PARAMS, f"no resource {uri[:200]!r} on the {self.name} server")
        return await self.memory.read(uri, context)

    async def list_prompts(
        self, ctx: Context, params: types.PaginatedRequestParams | None
    ) -> types.ListPromptsResult:
        self.context(ctx)
        return types.ListPromptsResult(prompts=self.memory.prompts() if self.memory is not None else [])

    async def get_prompt(self, ctx: Context, params: types.GetPromptRequestParams) -> types.GetPromptResult:
        if self.memory is None:
            raise MCPError(types.INVALID_PARAMS, f"the {self.name} server has no prompts")
        return await self.memory.prompt(params.name, params.arguments or {}, self.context(ctx))


def _resource_handlers(handlers: _Handlers) -> dict[str, Any]:
    """Resources where memory or runs are readable; prompts only where memory is."""
    extra: dict[str, Any] = {}
    if handlers.has_memory or handlers.runs.available:
        extra = {
            "on_list_resources": handlers.list_resources,
            "on_list_resource_templates": handlers.list_templates,
            "on_read_resource": handlers.read_resource,
        }
    if handlers.has_memory:
        extra |= {"on_list_prompts": handlers.list_prompts, "on_get_prompt": handlers.get_prompt}
    return extra


def build_server(name: str, runtime: McpRuntime) -> Server[Any]:
    """The MCP server `name` (a tool group or `all`) over `runtime`; memory resources and prompts on `memory`
    and `all`, runs resources on `all`."""
    if name not in SERVER_NAMES:
        raise UnknownMcpServer(name, list(SERVER_NAMES))
    handlers = _Handlers(name, runtime)
    extra = _resource_handlers(handlers)
    scope = "every tool" if name == "all" else f"the {name} tools"
    return Server(
        f"sophia-{name}",
        version=sophia.__version__,
        title=f"Sophia {name}",
        instructions=(
            f"Sophia's {scope}. Reads run at once; writes and deletions may be held for a person's approval"
            " and answer 'held for approval, id …' without running."
        ),
        on_list_tools=handlers.list_tools,
        on_call_tool=handlers.call_tool,
        **extra,
    )
