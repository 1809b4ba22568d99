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
from sophia.mcp._errors import EmptyMcpServer, UnknownMcpServer
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
    ToolRegistry,
    UnknownTool,
)

__all__ = ["SERVER_NAMES", "build_server", "held_for_approval", "served_names"]

SERVER_NAMES = (*TOOL_GROUPS, "all")
"""Every server name there may be: one per tool group, and `all` for every tool."""

_CONFIRM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "approve": {
            "type": "boolean",
            "title": "Run this call",
            "description": "Yes runs it once now; no refuses it.",
        }
    },
    "required": ["approve"],
}


def served_names(registry: ToolRegistry) -> list[str]:
    """The servers with tools behind them, and `all`: a group with no tool yet (no connector) is not served."""
    return [*(group for group in TOOL_GROUPS if registry.tools(group)), "all"]


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
        f" (`sophia approvals approve {approval.id}` or the dashboard's Approvals page); the approved call"
        " then runs once."
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

    async def call_tool(
        self, ctx: Context, params: types.CallToolRequestParams
    ) -> types.CallToolResult | types.InputRequiredResult:
        context = self.context(ctx)
        tool = self.tool(params.name)
        if params.request_state is not None:  # the client's retry, carrying the person's answer (2026-07-28)
            return await self.answered(params, context)
        try:
            result = await self.runtime.invoker.invoke(tool.name, params.arguments or {}, context)
        except ApprovalRequired as held:
            return await self.ask_in_client(ctx, held, context)
        except SophiaError as error:
            return _text(error.message, error=True)
        return _succeeded(result)

    async def ask_in_client(
        self, ctx: Context, held: ApprovalRequired, context: ToolContext
    ) -> types.CallToolResult | types.InputRequiredResult:
        """Ask the person in their own client (MCP elicitation) when it can answer; else the call stays held.

        On 2025-era sessions the question is a server-to-client request; on 2026-07-28 it is an
        `InputRequiredResult` the client answers by retrying the call (see `answered`).
        """
        capabilities = ctx.session.client_capabilities
        if capabilities is None or capabilities.elicitation is None:
            return held_for_approval(held)
        approval = held.approval
        question = (
            f"{approval.tool} ({approval.effect}) wants to run with {approval.arguments}. Run it once now?"
        )
        if not ctx.session.can_send_request:
            elicit = types.ElicitRequest(
                params=types.ElicitRequestFormParams(message=question, requested_schema=_CONFIRM_SCHEMA)
            )
            return types.InputRequiredResult(input_requests={"approve": elicit}, request_state=approval.id)
        try:
            answer = await ctx.session.elicit_form(
                question, _CONFIRM_SCHEMA, related_request_id=ctx.request_id
            )
        except Exception:  # a client that cannot answer leaves the call held, to decide elsewhere
            return held_for_approval(held)
        return await self.decide(held, context, answer.action, answer.content)

    async def answered(
        self, params: types.CallToolRequestParams, context: ToolContext
    ) -> types.CallToolResult:
        """The retry after an `InputRequiredResult`: the state names a held call of this caller and tool."""
        try:
            approval = await self.runtime.invoker.approval(str(params.request_state))
        except SophiaError as error:
            return _text(error.message, error=True)
        if approval.tool != self.tool(params.name).name or approval.status != "pending":
            return _text(f"approval {approval.id} is not a pending call to {params.name[:80]}", error=True)
        response = (params.input_responses or {}).get("approve")
        action = getattr(response, "action", "cancel")
        return await self.decide(
            ApprovalRequired(approval), context, action, getattr(response, "content", None)
        )

    async def decide(
        self, held: ApprovalRequired, context: ToolContext, action: str, content: Any
    ) -> types.CallToolResult:
        """Accepted with yes: approve and run once; with no: deny; dismissed: still held, to decide elsewhere."""
        if action != "accept" or not isinstance(content, dict):
            return held_for_approval(held)
        approval, approved = held.approval, content.get("approve") is True
        invoker = self.runtime.invoker
        try:
            await invoker.decide_own(
                approval.id, context, approved=approved, reason="answered in the MCP client"
            )
            if not approved:
                return _text(f"{approval.tool} was refused in the client; it did not run", error=True)
            return _succeeded(await invoker.invoke_approved(approval.id))
        except SophiaError as error:
            return _text(error.message, error=True)

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
        raise UnknownMcpServer(name, served_names(runtime.registry))
    if name not in served_names(runtime.registry):
        raise EmptyMcpServer(name, served_names(runtime.registry))
    handlers = _Handlers(name, runtime)
    extra = _resource_handlers(handlers)
    scope = "every tool" if name == "all" else f"the {name} tools"
    return Server(
        f"sophia-{name}",
        version=sophia.__version__,
        title=f"Sophia {name}",
        instructions=(
            f"Sophia's {scope}. Reads run at once; writes and deletions may need a person's approval: the"
            " client is asked (elicitation) when it can answer, else the call answers 'held for approval,"
            " id …' without running, to be decided with `sophia approvals` or the dashboard."
        ),
        on_list_tools=handlers.list_tools,
        on_call_tool=handlers.call_tool,
        **extra,
    )
