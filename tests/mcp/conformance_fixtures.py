"""What the conformance suite's scenarios call by name, served only by the conformance harness.

None of this is in Sophia's servers: `wrap_server` puts these fixtures in front of a built Sophia server, so a
request for a fixture (tool, resource, prompt) is answered here and everything else reaches Sophia's handlers.
"""

from __future__ import annotations

import asyncio
import json
import warnings
from typing import Any

import mcp_types as types
from mcp.server import Server, ServerRequestContext

from mcp import MCPError

Context = ServerRequestContext[Any, Any]

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
WAV = "UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQAAAAA="
_OBJECT: dict[str, Any] = {"type": "object", "properties": {}}


def _tool(name: str, description: str, schema: dict[str, Any] | None = None) -> types.Tool:
    return types.Tool(name=name, description=description, input_schema=schema or _OBJECT)


TOOLS = [
    _tool("test_image_content", "Returns a 1x1 PNG."),
    _tool("test_audio_content", "Returns a tiny WAV."),
    _tool("test_embedded_resource", "Returns an embedded text resource."),
    _tool("test_multiple_content_types", "Returns text, an image and a resource."),
    _tool("test_tool_with_logging", "Sends three log notifications."),
    _tool("test_tool_with_progress", "Reports progress 0, 50 and 100 of 100."),
    _tool(
        "test_sampling",
        "Asks the client's model.",
        {"type": "object", "properties": {"prompt": {"type": "string"}}, "required": ["prompt"]},
    ),
    _tool(
        "test_elicitation",
        "Asks the user for a username and email.",
        {"type": "object", "properties": {"message": {"type": "string"}}, "required": ["message"]},
    ),
    _tool("test_elicitation_sep1034_defaults", "Elicits with defaults for every primitive type."),
    _tool("test_elicitation_sep1330_enums", "Elicits with every enum variant."),
    _tool(
        "json_schema_2020_12_tool",
        "Tool with JSON Schema 2020-12 features",
        {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "$defs": {
                "address": {
                    "type": "object",
                    "properties": {"street": {"type": "string"}, "city": {"type": "string"}},
                }
            },
            "properties": {"name": {"type": "string"}, "address": {"$ref": "#/$defs/address"}},
            "additionalProperties": False,
        },
    ),
]

_DEFAULTS_SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "default": "John Doe"},
        "age": {"type": "integer", "default": 30},
        "score": {"type": "number", "default": 95.5},
        "status": {"type": "string", "enum": ["active", "inactive", "pending"], "default": "active"},
        "verified": {"type": "boolean", "default": True},
    },
}
_ENUMS_SCHEMA = {
    "type": "object",
    "properties": {
        "untitledSingle": {"type": "string", "enum": ["option1", "option2", "option3"]},
        "titledSingle": {
            "type": "string",
            "oneOf": [{"const": f"value{i}", "title": f"Option {i}"} for i in (1, 2, 3)],
        },
        "legacyEnum": {
            "type": "string",
            "enum": ["opt1", "opt2", "opt3"],
            "enumNames": ["Option One", "Option Two", "Option Three"],
        },
        "untitledMulti": {
            "type": "array",
            "items": {"type": "string", "enum": ["option1", "option2", "option3"]},
        },
        "titledMulti": {
            "type": "array",
            "items": {"anyOf": [{"const": f"value{i}", "title": f"Choice {i}"} for i in (1, 2, 3)]},
        },
    },
}
_USER_SCHEMA = {
    "type": "object",
    "properties": {
        "username": {"type": "string", "description": "User's response"},
        "email": {"type": "string", "description": "User's email address"},
    },
    "required": ["username", "email"],
}


def _text(text: str) -> types.TextContent:
    return types.TextContent(text=text)


def _image() -> types.ImageContent:
    return types.ImageContent(data=PNG, mime_type="image/png")


def _embedded(uri: str, text: str, mime: str = "text/plain") -> types.EmbeddedResource:
    return types.EmbeddedResource(resource=types.TextResourceContents(uri=uri, mime_type=mime, text=text))


async def _log_three(ctx: Context) -> list[types.ContentBlock]:
    for i, message in enumerate(
        ("Tool execution started", "Tool processing data", "Tool execution completed")
    ):
        if i:
            await asyncio.sleep(0.05)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            await ctx.session.send_log_message("info", message, related_request_id=ctx.request_id)
    return [_text("logged three messages")]


async def _progress(ctx: Context) -> list[types.ContentBlock]:
    meta: Any = ctx.meta or {}
    token = meta.get("progress_token", meta.get("progressToken"))
    for i, done in enumerate((0, 50, 100)):
        if i:
            await asyncio.sleep(0.05)
        if token is not None:
            await ctx.session.send_progress_notification(
                token, done, total=100, related_request_id=str(ctx.request_id)
            )
    return [_text("progress reported")]


async def _sample(ctx: Context, arguments: dict[str, Any]) -> list[types.ContentBlock]:
    message = types.SamplingMessage(role="user", content=_text(str(arguments.get("prompt", ""))))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reply = await ctx.session.create_message([message], max_tokens=100, related_request_id=ctx.request_id)
    content = reply.content
    text = content.text if isinstance(content, types.TextContent) else str(content)
    return [_text(f"LLM response: {text}")]


async def _elicit(
    ctx: Context, message: str, schema: dict[str, Any], prefix: str
) -> list[types.ContentBlock]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        answer = await ctx.session.elicit(message, schema, related_request_id=ctx.request_id)
    return [_text(f"{prefix}: action={answer.action}, content={json.dumps(answer.content)}")]


async def call_fixture(ctx: Context, name: str, arguments: dict[str, Any]) -> list[types.ContentBlock]:
    simple: dict[str, list[types.ContentBlock]] = {
        "test_image_content": [_image()],
        "test_audio_content": [types.AudioContent(data=WAV, mime_type="audio/wav")],
        "test_embedded_resource": [
            _embedded("test://embedded-resource", "This is an embedded resource content.")
        ],
        "test_multiple_content_types": [
            _text("Multiple content types test:"),
            _image(),
            _embedded("test://mixed-content-resource", '{"test":"data","value":123}', "application/json"),
        ],
        "json_schema_2020_12_tool": [_text(f"received {json.dumps(arguments)}")],
    }
    if name in simple:
        return simple[name]
    if name == "test_tool_with_logging":
        return await _log_three(ctx)
    if name == "test_tool_with_progress":
        return await _progress(ctx)
    if name == "test_sampling":
        return await _sample(ctx, arguments)
    if name == "test_elicitation":
        return await _elicit(ctx, str(arguments.get("message", "")), _USER_SCHEMA, "User response")
    schema = _DEFAULTS_SCHEMA if name == "test_elicitation_sep1034_defaults" else _ENUMS_SCHEMA
    return await _elicit(ctx, "Please review these values", schema, "Elicitation completed")


RESOURCES = [
    types.Resource(
        uri="test://static-text", name="static-text", description="Static text.", mime_type="text/plain"
    ),
    types.Resource(
        uri="test://static-binary", name="static-binary", description="A PNG.", mime_type="image/png"
    ),
    types.Resource(
        uri="test://watched-resource", name="watched", description="Subscribable.", mime_type="text/plain"
    ),
]
TEMPLATE = types.ResourceTemplate(
    uri_template="test://template/{id}/data",
    name="template",
    description="Data by id.",
    mime_type="application/json",
)


def read_fixture(uri: str) -> types.ReadResourceResult | None:
    contents: types.TextResourceContents | types.BlobResourceContents
    if uri == "test://static-text":
        contents = types.TextResourceContents(
            uri=uri, mime_type="text/plain", text="This is the content of the static text resource."
        )
    elif uri == "test://static-binary":
        contents = types.BlobResourceContents(uri=uri, mime_type="image/png", blob=PNG)
    elif uri == "test://watched-resource":
        contents = types.TextResourceContents(uri=uri, mime_type="text/plain", text="watched")
    elif uri.startswith("test://template/") and uri.endswith("/data"):
        item = uri.removeprefix("test://template/").removesuffix("/data")
        text = json.dumps({"id": item, "templateTest": True, "data": f"Data for ID: {item}"})
        contents = types.TextResourceContents(uri=uri, mime_type="application/json", text=text)
    else:
        return None
    return types.ReadResourceResult(contents=[contents])


PROMPTS = [
    types.Prompt(name="test_simple_prompt", description="A simple prompt."),
    types.Prompt(
        name="test_prompt_with_arguments",
        description="A prompt with two arguments.",
        arguments=[
            types.PromptArgument(name="arg1", description="First", required=True),
            types.PromptArgument(name="arg2", description="Second", required=True),
        ],
    ),
    types.Prompt(
        name="test_prompt_with_embedded_resource",
        description="A prompt that embeds a resource.",
        arguments=[types.PromptArgument(name="resourceUri", description="Which resource", required=True)],
    ),
    types.Prompt(name="test_prompt_with_image", description="A prompt with an image."),
]


def get_fixture_prompt(name: str, arguments: dict[str, str]) -> types.GetPromptResult | None:
    def user(content: Any) -> types.PromptMessage:
        return types.PromptMessage(role="user", content=content)

    if name == "test_simple_prompt":
        messages = [user(_text("This is a simple prompt for testing."))]
    elif name == "test_prompt_with_arguments":
        text = f"Prompt with arguments: arg1='{arguments.get('arg1')}', arg2='{arguments.get('arg2')}'"
        messages = [user(_text(text))]
    elif name == "test_prompt_with_embedded_resource":
        uri = arguments.get("resourceUri", "test://example-resource")
        messages = [
            user(_embedded(uri, "Embedded resource content for testing.")),
            user(_text("Please process it.")),
        ]
    elif name == "test_prompt_with_image":
        messages = [user(_image()), user(_text("Please analyze the image above."))]
    else:
        return None
    return types.GetPromptResult(messages=messages)


class _Front:
    """Fixtures first, then the wrapped server's own handlers (Sophia's registry, memory, runs)."""

    def __init__(self, server: Server[Any]) -> None:
        self.own = {method: server.get_request_handler(method) for method in _WRAPPED}

    async def delegate(self, method: str, ctx: Context, params: Any, empty: Any) -> Any:
        entry = self.own[method]
        return await entry.handler(ctx, params) if entry is not None else empty

    async def list_tools(self, ctx: Context, params: Any) -> types.ListToolsResult:
        found = await self.delegate("tools/list", ctx, params, types.ListToolsResult(tools=[]))
        return types.ListToolsResult(tools=[*found.tools, *TOOLS])

    async def call_tool(self, ctx: Context, params: types.CallToolRequestParams) -> Any:
        if params.name not in {tool.name for tool in TOOLS}:
            return await self.delegate("tools/call", ctx, params, None)
        return types.CallToolResult(content=await call_fixture(ctx, params.name, params.arguments or {}))

    async def list_resources(self, ctx: Context, params: Any) -> types.ListResourcesResult:
        found = await self.delegate("resources/list", ctx, params, types.ListResourcesResult(resources=[]))
        return types.ListResourcesResult(resources=[*found.resources, *RESOURCES])

    async def list_templates(self, ctx: Context, params: Any) -> types.ListResourceTemplatesResult:
        empty = types.ListResourceTemplatesResult(resource_templates=[])
        found = await self.delegate("resources/templates/list", ctx, params, empty)
        return types.ListResourceTemplatesResult(resource_templates=[*found.resource_templates, TEMPLATE])

    async def read_resource(self, ctx: Context, params: types.ReadResourceRequestParams) -> Any:
        fixture = read_fixture(str(params.uri))
        return fixture if fixture is not None else await self.delegate("resources/read", ctx, params, None)

    async def list_prompts(self, ctx: Context, params: Any) -> types.ListPromptsResult:
        found = await self.delegate("prompts/list", ctx, params, types.ListPromptsResult(prompts=[]))
        return types.ListPromptsResult(prompts=[*found.prompts, *PROMPTS])

    async def get_prompt(self, ctx: Context, params: types.GetPromptRequestParams) -> Any:
        fixture = get_fixture_prompt(params.name, params.arguments or {})
        if fixture is None and self.own["prompts/get"] is None:
            raise MCPError(types.INVALID_PARAMS, f"no prompt named {params.name!r}")
        return fixture if fixture is not None else await self.delegate("prompts/get", ctx, params, None)

    async def empty(self, ctx: Context, params: Any) -> types.EmptyResult:
        return types.EmptyResult()

    async def complete(self, ctx: Context, params: types.CompleteRequestParams) -> types.CompleteResult:
        return types.CompleteResult(completion=types.Completion(values=[], total=0, has_more=False))


_WRAPPED = ("tools/list", "tools/call", "resources/list", "resources/templates/list", "resources/read")
_WRAPPED += ("prompts/list", "prompts/get")


def wrap_server(server: Server[Any]) -> Server[Any]:
    """Put the fixtures in front of `server`; also accept subscriptions, log levels and completions."""
    front = _Front(server)
    for method, params_type, handler in [
        ("tools/list", types.PaginatedRequestParams, front.list_tools),
        ("tools/call", types.CallToolRequestParams, front.call_tool),
        ("resources/list", types.PaginatedRequestParams, front.list_resources),
        ("resources/templates/list", types.PaginatedRequestParams, front.list_templates),
        ("resources/read", types.ReadResourceRequestParams, front.read_resource),
        ("resources/subscribe", types.SubscribeRequestParams, front.empty),
        ("resources/unsubscribe", types.UnsubscribeRequestParams, front.empty),
        ("prompts/list", types.PaginatedRequestParams, front.list_prompts),
        ("prompts/get", types.GetPromptRequestParams, front.get_prompt),
        ("logging/setLevel", types.SetLevelRequestParams, front.empty),
        ("completion/complete", types.CompleteRequestParams, front.complete),
    ]:
        server.add_request_handler(method, params_type, handler)  # type: ignore[arg-type]
    return server
