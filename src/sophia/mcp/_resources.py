"""Memories as MCP resources and a `recall_context` prompt, both scoped to the caller like the memory tools."""

from __future__ import annotations

import json
from typing import Any

import mcp_types as types

from mcp import MCPError
from sophia.errors import SophiaError
from sophia.mcp._runtime import McpRuntime
from sophia.tools import Decision, ToolContext

__all__ = ["MemoryResources"]

STATS_URI = "memory://stats"
MEMORY_TEMPLATE = "memory://memories/{id}"
_MEMORY_PREFIX = "memory://memories/"
_RECALL_TOOL = "memory.recall"
_STATS_TOOL = "memory.stats"


def _namespaces(context: ToolContext) -> tuple[str, ...]:
    """The same scope the memory tools use: the run's namespaces, else the user's own and `global`."""
    if context.memory_namespaces:
        return context.memory_namespaces
    return (f"user:{context.user_id}", "global") if context.user_id is not None else ("global",)


def _json(uri: str, value: Any) -> types.ReadResourceResult:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return types.ReadResourceResult(
        contents=[types.TextResourceContents(uri=uri, mime_type="application/json", text=text)]
    )


class MemoryResources:
    """Read-only views of memory; what a caller may read is what `memory.recall` would show them."""

    def __init__(self, runtime: McpRuntime) -> None:
        self.runtime = runtime

    @property
    def available(self) -> bool:
        return self.runtime.memory is not None and _RECALL_TOOL in self.runtime.registry

    def resources(self) -> list[types.Resource]:
        if not self.available:
            return []
        return [
            types.Resource(
                uri=STATS_URI,
                name="memory-stats",
                description="How many memories Sophia holds, by kind, and the index sizes.",
                mime_type="application/json",
            )
        ]

    def templates(self) -> list[types.ResourceTemplate]:
        if not self.available:
            return []
        return [
            types.ResourceTemplate(
                uri_template=MEMORY_TEMPLATE,
                name="memory",
                description="One memory by id (from memory.recall), if it is in a namespace you may read.",
                mime_type="application/json",
            )
        ]

    async def read(self, uri: str, context: ToolContext) -> types.ReadResourceResult:
        memory = self.runtime.memory
        if memory is None or not self.available:
            raise MCPError(types.INVALID_PARAMS, f"no resource {uri[:200]!r}: this server has no memory")
        self._check_allowed(context)
        if uri == STATS_URI:
            result = await self.runtime.invoker.invoke(_STATS_TOOL, {}, context)
            return _json(uri, result.output)
        if not uri.startswith(_MEMORY_PREFIX):
            raise MCPError(
                types.INVALID_PARAMS, f"no resource {uri[:200]!r}; try {STATS_URI} or {MEMORY_TEMPLATE}"
            )
        try:
            found = await memory.get(uri.removeprefix(_MEMORY_PREFIX), namespaces=_namespaces(context))
        except SophiaError as error:
            raise MCPError(types.INVALID_PARAMS, error.message) from None
        return _json(
            uri,
            {
                "id": found.id,
                "namespace": found.namespace,
                "kind": found.kind.value,
                "content": found.content,
                "importance": found.importance,
                "created_at": found.created_at.isoformat(),
            },
        )

    def _check_allowed(self, context: ToolContext) -> None:
        tool = self.runtime.registry.get(_RECALL_TOOL)
        if self.runtime.invoker.policy.decide(tool, context.role) is Decision.DENY:
            raise MCPError(types.INVALID_REQUEST, f"the {context.role.value} role may not read memories")

    def prompts(self) -> list[types.Prompt]:
        if not self.available:
            return []
        return [
            types.Prompt(
                name="recall_context",
                description="What Sophia remembers about a topic, ready to ground an answer.",
                arguments=[types.PromptArgument(name="topic", description="What to recall.", required=True)],
            )
        ]

    async def prompt(
        self, name: str, arguments: dict[str, str], context: ToolContext
    ) -> types.GetPromptResult:
        topic = (arguments.get("topic") or "").strip()
        if name != "recall_context" or not self.available:
            raise MCPError(types.INVALID_PARAMS, f"no prompt named {name[:80]!r}; try recall_context")
        if not topic:
            raise MCPError(types.INVALID_PARAMS, "recall_context needs a non-empty 'topic' argument")
        try:
            result = await self.runtime.invoker.invoke(_RECALL_TOOL, {"query": topic, "k": 8}, context)
        except SophiaError as error:
            raise MCPError(types.INVALID_REQUEST, error.message) from None
        hits = result.output if isinstance(result.output, list) else []
        lines = [f"- ({hit['kind']}) {hit['content']}" for hit in hits if isinstance(hit, dict)]
        known = "\n".join(lines) if lines else "(nothing remembered about this yet)"
        text = (
            f"Here is what Sophia remembers about {topic!r}:\n{known}\n\n"
            "Use these memories where they help, and say so when they do not cover the question."
        )
        message = types.PromptMessage(role="user", content=types.TextContent(text=text))
        return types.GetPromptResult(description=f"Memories about {topic}", messages=[message])
