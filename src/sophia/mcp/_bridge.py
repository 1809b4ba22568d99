"""External MCP tools as Sophia tools: `<server>.<tool>`, side effect from annotations or config, schema-checked."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import jsonschema
import mcp_types as types
from pydantic import BaseModel, ConfigDict, model_serializer, model_validator

from sophia.mcp._client import McpConnection, Resolve
from sophia.mcp._errors import McpToolError, UnknownMcpServer
from sophia.mcp._settings import McpServerSettings
from sophia.tools import SideEffect, Tool, ToolRegistry

__all__ = ["McpClients", "effect_of", "local_tool_name", "result_value"]

log = logging.getLogger("sophia.mcp.client")

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NOT_WORD = re.compile(r"[^a-z0-9]+")
_MAX_NAME = 64
_MAX_PROBLEMS = 5
_MAX_ERROR_CHARS = 500


def local_tool_name(remote: str) -> str:
    """`getWeather` / `get-weather` -> `get_weather`: the part after `<server>.` in Sophia's registry."""
    words = _NOT_WORD.sub("_", _CAMEL.sub("_", remote).lower()).strip("_")
    return words if words[:1].isalpha() else f"t_{words}"


def effect_of(tool: types.Tool, overrides: Mapping[str, str]) -> SideEffect:
    """Config first; then `readOnlyHint` -> read, `destructiveHint` -> destroy; anything else is a write."""
    configured = overrides.get(tool.name) or overrides.get(local_tool_name(tool.name))
    if configured is not None:
        return SideEffect(configured)
    hints = tool.annotations
    if hints is not None and hints.read_only_hint:
        return SideEffect.READ
    if hints is not None and hints.destructive_hint:
        return SideEffect.DESTROY
    return SideEffect.WRITE


def result_value(result: types.CallToolResult) -> Any:
    """Structured content when the server gave it, else the text (several blocks become a list)."""
    if result.structured_content is not None:
        return result.structured_content
    parts: list[str] = []
    for block in result.content:
        if isinstance(block, types.TextContent):
            parts.append(block.text)
        elif isinstance(block, types.ImageContent | types.AudioContent):
            parts.append(f"[{block.type}: {block.mime_type}, {len(block.data)} base64 characters]")
        elif isinstance(block, types.ResourceLink):
            parts.append(f"[resource: {block.uri}]")
        elif isinstance(block, types.EmbeddedResource):
            inner = block.resource
            parts.append(
                inner.text if isinstance(inner, types.TextResourceContents) else f"[resource: {inner.uri}]"
            )
    return parts[0] if len(parts) == 1 else parts


def _arguments_model(name: str, schema: dict[str, Any]) -> type[BaseModel]:
    """Arguments checked against the server's JSON schema here, so a bad call fails before it leaves Sophia."""
    try:
        validator: Any = jsonschema.validators.validator_for(schema)(schema)
        validator.check_schema(schema)
    except jsonschema.SchemaError:
        log.warning("MCP tool %s: its input schema is not valid JSON Schema; arguments go unchecked", name)
        validator = None

    class ExternalArguments(BaseModel):
        model_config = ConfigDict(extra="forbid")
        arguments: dict[str, Any]

        @model_validator(mode="before")
        @classmethod
        def _check(cls, data: Any) -> Any:
            if not isinstance(data, dict):
                raise ValueError("must be a JSON object")
            if validator is not None:
                problems = [_problem(error) for error in validator.iter_errors(data)][:_MAX_PROBLEMS]
                if problems:
                    raise ValueError("; ".join(problems))
            return {"arguments": data}

        @model_serializer
        def _plain(self) -> dict[str, Any]:
            return dict(self.arguments)

    ExternalArguments.__name__ = name.replace(".", "_")
    return ExternalArguments


def _problem(error: Any) -> str:
    path = ".".join(str(part) for part in error.absolute_path) or "(arguments)"
    return f"{path}: {str(error.message)[:200]}"


def _error_text(result: types.CallToolResult) -> str:
    text = result_value(result)
    text = (
        text if isinstance(text, str) else " ".join(map(str, text)) if isinstance(text, list) else str(text)
    )
    return text[:_MAX_ERROR_CHARS] or "no detail given"


def external_tool(connection: McpConnection, remote: types.Tool) -> Tool:
    """The registry entry that forwards to `remote` on `connection`."""
    settings = connection.settings
    name = f"{settings.name}.{local_tool_name(remote.name)}"
    schema = dict(remote.input_schema)

    async def call(arguments: dict[str, Any]) -> Any:
        result = await connection.call_tool(remote.name, arguments)
        if result.is_error:
            raise McpToolError(
                f"the MCP server {settings.name!r} reported an error from {remote.name}: {_error_text(result)}"
            )
        return result_value(result)

    description = (remote.description or "").strip() or f"{remote.name} on the MCP server {settings.name}"
    return Tool(
        name=name,
        description=description,
        group=settings.group,
        effect=effect_of(remote, settings.effects),
        function=call,
        arguments=_arguments_model(name, schema),
        input_schema=schema,
        is_async=True,
        timeout=settings.connect_timeout_seconds + settings.timeout_seconds + 5,
        tags=("mcp", settings.name),
    )


class McpClients:
    """The configured external servers; `register_tools` puts their tools in a registry."""

    def __init__(
        self, servers: Iterable[McpServerSettings], resolve: Resolve | None = None, *, errlog: Any = None
    ) -> None:
        self._connections: dict[str, McpConnection] = {}
        for server in servers:
            if server.name in self._connections:
                raise ValueError(f"two [[mcp_servers]] entries are named {server.name!r}; names must differ")
            self._connections[server.name] = McpConnection(server, resolve, errlog=errlog)
        self.errors: dict[str, str] = {}

    @property
    def names(self) -> list[str]:
        return sorted(self._connections)

    def connection(self, name: str) -> McpConnection:
        found = self._connections.get(name)
        if found is None:
            raise UnknownMcpServer(name, self.names)
        return found

    async def register_tools(self, registry: ToolRegistry) -> dict[str, list[str]]:
        """Register every enabled server's tools; a server that cannot be reached is noted in `errors`."""
        added: dict[str, list[str]] = {}
        for name in self.names:
            connection = self._connections[name]
            if not connection.settings.enabled:
                continue
            try:
                remote_tools = await connection.list_tools()
            except Exception as error:  # one broken server must not stop Sophia from starting
                self.errors[name] = getattr(error, "message", None) or type(error).__name__
                log.warning("MCP server %s: tools not registered: %s", name, self.errors[name])
                continue
            added[name] = _register(registry, connection, remote_tools)
        return added

    async def aclose(self) -> None:
        for connection in self._connections.values():
            await connection.aclose()


def _register(
    registry: ToolRegistry, connection: McpConnection, remote_tools: Sequence[types.Tool]
) -> list[str]:
    names: list[str] = []
    for remote in remote_tools:
        tool = external_tool(connection, remote)
        if len(tool.name) > _MAX_NAME or tool.name in registry:
            log.warning(
                "MCP server %s: tool %r skipped (name too long or taken)", connection.name, remote.name
            )
            continue
        registry.register(tool)
        names.append(tool.name)
    return names
