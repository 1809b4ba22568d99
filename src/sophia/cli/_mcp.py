"""`sophia mcp`: serve Sophia's tool groups over MCP, and list or call the external MCP servers configured."""

from __future__ import annotations

import dataclasses
import enum
import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from sophia.cli._common import (
    cli_database,
    console,
    echo_json,
    err_console,
    fail,
    handle_errors,
    run_async,
    settings_of,
)
from sophia.config import Settings
from sophia.observability import configure_logging

app = typer.Typer(
    name="mcp", help="MCP servers (Sophia's tools over MCP) and external MCP servers.", no_args_is_help=True
)

API_KEY_ENV = "SOPHIA_API_KEY"


class Transport(enum.StrEnum):
    STDIO = "stdio"
    HTTP = "http"


class EmbedderChoice(enum.StrEnum):
    MINILM = "minilm"
    HASHING = "hashing"


@asynccontextmanager
async def _local_runtime(
    settings: Settings,
    name: str,
    embedder: str,
    *,
    connect_external: bool = True,
    workspace: Path | None = None,
) -> AsyncIterator[Any]:
    """Sophia's registry and invoker on the configured database; the caller is you, or SOPHIA_API_KEY's owner.

    `workspace` (checked against `[tools] workspace_roots`) is the directory the workspace and `code` tools act on.
    """
    from sophia.mcp import open_runtime
    from sophia.tools import ToolContext, WorkspaceRoots

    folder = None
    if workspace is not None:
        folder = WorkspaceRoots(settings.home, settings.tools.workspace_roots).check(workspace.absolute())

    async with cli_database(settings) as database:
        runtime = await open_runtime(settings, database, embedder=embedder, connect_external=connect_external)
        try:
            key = os.environ.get(API_KEY_ENV, "").strip()
            if key and runtime.accounts is not None:
                principal = await runtime.accounts.verify_api_key(key)
                runtime.context = ToolContext.of(principal, agent=f"mcp:{name}")
            if folder is not None:
                runtime.context = dataclasses.replace(runtime.context, workspace=folder)
            yield runtime
        finally:
            await runtime.aclose()


async def _serve_stdio(settings: Settings, name: str, embedder: str, workspace: Path | None) -> None:
    from mcp.server.stdio import stdio_server

    from sophia.mcp import build_server

    async with _local_runtime(settings, name, embedder, workspace=workspace) as runtime:
        server = build_server(name, runtime)
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())


def _serve_http(settings: Settings, name: str, host: str | None, port: int | None, embedder: str) -> None:
    import uvicorn

    from sophia.mcp import install_mcp, open_runtime
    from sophia.server import create_app, proxy_options

    async def runtime(services: Any) -> Any:
        # the server's memory uses the default embedder; only another choice opens a second index
        shared = services.memory if embedder == EmbedderChoice.MINILM else None
        kit = services.tools if shared is not None else None  # the server's tools are bound to its memory
        return await open_runtime(
            services.settings, services.database, embedder=embedder, memory=shared, kit=kit
        )

    application = create_app(settings, mcp=False)
    install_mcp(application, runtime_factory=runtime)
    bind_host, bind_port = host or settings.server.host, port or settings.server.port
    console.print(f"Sophia MCP server {name!r} on http://{bind_host}:{bind_port}/mcp/{name} (bearer API key)")
    config = uvicorn.Config(
        application,
        host=bind_host,
        port=bind_port,
        log_config=None,
        lifespan="on",
        **proxy_options(settings.server.trusted_proxies),
    )
    uvicorn.Server(config).run()


@app.command("serve")
@handle_errors
def serve(
    ctx: typer.Context,
    name: Annotated[
        str,
        typer.Argument(
            help="memory, research, code, data or all (`sophia mcp list` shows which carry tools)."
        ),
    ],
    transport: Annotated[
        Transport, typer.Option(help="stdio (for a local client) or http.")
    ] = Transport.STDIO,
    host: Annotated[str | None, typer.Option(help="HTTP bind address (default from settings).")] = None,
    port: Annotated[int | None, typer.Option(help="HTTP port (default from settings).")] = None,
    embedder: Annotated[EmbedderChoice, typer.Option(help="Memory embeddings.")] = EmbedderChoice.MINILM,
    workspace: Annotated[
        Path | None,
        typer.Option(
            help="stdio: the checkout the code and workspace tools work in (under a workspace root)."
        ),
    ] = None,
) -> None:
    """Serve one of Sophia's MCP servers; over stdio the caller is you (or SOPHIA_API_KEY's owner)."""
    from sophia.mcp import SERVER_NAMES

    if name not in SERVER_NAMES:
        fail(f"there is no MCP server named {name!r}; use one of {', '.join(SERVER_NAMES)}")
    settings = settings_of(ctx)
    settings.home.mkdir(mode=0o700, parents=True, exist_ok=True)
    if transport is Transport.STDIO:
        configure_logging("WARNING", settings.logging.format, stream=sys.stderr)
        run_async(_serve_stdio(settings, name, embedder.value, workspace))
        return
    if workspace is not None:
        fail("--workspace is for stdio; over HTTP a code call names one of [coding] workspaces")
    configure_logging(settings.logging.level, settings.logging.format)
    _serve_http(settings, name, host, port, embedder.value)


async def _sophia_servers(settings: Settings) -> list[dict[str, Any]]:
    """Sophia's own servers that carry tools (an empty group is not served), with their tools."""
    from sophia.mcp import served_names

    async with _local_runtime(settings, "all", "minilm", connect_external=False) as runtime:
        return [
            {
                "name": name,
                "sophia": True,
                "transport": "stdio|http",
                "target": f"sophia mcp serve {name}",
                "tools": [t.name for t in runtime.registry.tools(None if name == "all" else name)],
            }
            for name in served_names(runtime.registry)
        ]


async def _external_servers(settings: Settings) -> list[dict[str, Any]]:
    from sophia.mcp import McpClients, mcp_server_settings
    from sophia.secrets import SecretResolver

    servers = mcp_server_settings(settings)
    clients = McpClients(servers, SecretResolver.for_settings(settings).resolve)
    rows: list[dict[str, Any]] = []
    try:
        for server in servers:
            row = server.describe()
            try:
                tools = await clients.connection(server.name).list_tools()
                row["tools"] = [tool.name for tool in tools]
            except Exception as error:  # shown per server: one dead server must not hide the others
                row["error"] = getattr(error, "message", None) or type(error).__name__
            rows.append(row)
    finally:
        await clients.aclose()
    return rows


async def _list(settings: Settings) -> list[dict[str, Any]]:
    return [*await _sophia_servers(settings), *await _external_servers(settings)]


@app.command("list")
@handle_errors
def list_servers(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Sophia's MCP servers that carry tools, then the configured [[mcp_servers]] and the tools each offers."""
    rows = run_async(_list(settings_of(ctx)))
    if as_json:
        echo_json(rows)
        return
    table = Table("server", "transport", "target", "tools")
    for row in rows:
        tools = ", ".join(row.get("tools", [])) or f"[red]{row.get('error', 'no tools')}[/]"
        name = row["name"] if row.get("sophia") else f"{row['name']} (external)"
        table.add_row(name, row["transport"], row["target"], tools)
    console.print(table)
    if not any(not row.get("sophia") for row in rows):
        console.print("No external MCP servers configured; add [[mcp_servers]] entries to sophia.toml.")


def _registry_name(runtime: Any, server: str, tool: str, externals: list[str]) -> str:
    """The registry entry `sophia mcp call SERVER TOOL` means: one of Sophia's servers' tools, or `<server>.<tool>`."""
    from sophia.errors import NotFound
    from sophia.mcp import SERVER_NAMES, UnknownMcpServer, local_tool_name

    if server in SERVER_NAMES:
        group = None if server == "all" else server
        offered = [t.name for t in runtime.registry.tools(group)]
        found = next((n for n in (tool, f"{server}.{tool}") if n in offered), None)
        if found is None:
            raise NotFound(
                f"the {server} MCP server has no tool named {tool[:80]!r}; it offers: {', '.join(offered) or 'none'}"
            )
        return found
    if server in externals:
        return f"{server}.{local_tool_name(tool)}"
    raise UnknownMcpServer(server, [*SERVER_NAMES, *externals])


async def _call(settings: Settings, server: str, tool: str, arguments: dict[str, Any], embedder: str) -> Any:
    """Through the `ToolInvoker`: the caller's role, the approval policy and the audit trail all apply."""
    from sophia.mcp import mcp_server_settings
    from sophia.tools import ApprovalRequired

    externals = [entry.name for entry in mcp_server_settings(settings)]
    async with _local_runtime(settings, server, embedder) as runtime:
        name = _registry_name(runtime, server, tool, externals)
        if runtime.clients is not None and server in runtime.clients.errors:
            from sophia.mcp import McpServerUnavailable

            raise McpServerUnavailable(runtime.clients.errors[server])
        try:
            result = await runtime.invoker.invoke(name, arguments, runtime.context)
        except ApprovalRequired as held:
            approval = held.approval
            return {
                "status": "held_for_approval",
                "approval_id": approval.id,
                "tool": approval.tool,
                "message": f"{approval.tool} has not run: it waits for a person; "
                f"`sophia approvals approve {approval.id}` runs it once",
            }
        return result.output


async def _call_direct(settings: Settings, server: str, tool: str, arguments: dict[str, Any]) -> Any:
    """A diagnostic straight to an external server: no registry, no approval policy, no audit record."""
    from sophia.mcp import McpClients, McpToolError, mcp_server_settings, result_value
    from sophia.secrets import SecretResolver

    clients = McpClients(mcp_server_settings(settings), SecretResolver.for_settings(settings).resolve)
    try:
        result = await clients.connection(server).call_tool(tool, arguments)
    finally:
        await clients.aclose()
    if result.is_error:
        raise McpToolError(f"the MCP server {server!r} reported an error from {tool}: {result_value(result)}")
    return result_value(result)


def _arguments(args: str) -> dict[str, Any]:
    try:
        arguments = json.loads(args)
    except json.JSONDecodeError as error:
        fail(f'--args is not valid JSON ({error.msg}); pass an object such as \'{{"q": "x"}}\'')
    if not isinstance(arguments, dict):
        fail('--args must be a JSON object such as \'{"q": "x"}\'')
    return arguments


@app.command("call")
@handle_errors
def call(
    ctx: typer.Context,
    server: Annotated[
        str, typer.Argument(help="Sophia's server (memory, ..., all) or an [[mcp_servers]] name.")
    ],
    tool: Annotated[
        str, typer.Argument(help="`memory.recall` (or `recall` on memory), or the external tool.")
    ],
    args: Annotated[str, typer.Option("--args", help="Arguments as a JSON object.")] = "{}",
    direct: Annotated[
        bool,
        typer.Option(
            "--direct",
            help="DIAGNOSTIC for an external server: call it directly, bypassing approvals and the audit trail.",
        ),
    ] = False,
    embedder: Annotated[EmbedderChoice, typer.Option(help="Memory embeddings.")] = EmbedderChoice.MINILM,
) -> None:
    """Call one tool as you (or SOPHIA_API_KEY's owner), through Sophia's approval policy and audit trail."""
    arguments = _arguments(args)
    settings = settings_of(ctx)
    if direct:
        err_console.print(
            f"[yellow]diagnostic:[/] calling {tool!r} directly on the MCP server {server!r};"
            " Sophia's approval policy and audit trail are bypassed",
            highlight=False,
        )
        value = run_async(_call_direct(settings, server, tool, arguments))
    else:
        value = run_async(_call(settings, server, tool, arguments, embedder.value))
    if isinstance(value, str):
        console.print(value, highlight=False, markup=False)
    else:
        echo_json(value)


if __name__ == "__main__":  # `python -m sophia.cli._mcp` until the group is wired into `sophia`
    app()
