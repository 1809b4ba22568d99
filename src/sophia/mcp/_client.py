"""`McpConnection`: one external MCP server, connected on first use, bounded in time, reconnected after failure.

The SDK's client lives in anyio task groups that must be entered and left by the same task, so each connection is
held open by a task of its own; callers from any task send requests through it and never wait past the timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TextIO, TypeVar

import anyio
import httpx2
import mcp_types as types
from mcp.client.streamable_http import streamable_http_client

from mcp import Client, MCPError, StdioServerParameters
from sophia.mcp._errors import McpServerUnavailable
from sophia.mcp._settings import McpServerSettings
from sophia.secrets import is_secret_ref

__all__ = ["McpConnection", "Resolve"]

log = logging.getLogger("sophia.mcp.client")

T = TypeVar("T")
Resolve = Callable[[str], str]
"""Turns a secret reference (`env:`, `secret:`, `file:`) into its value; `SecretResolver.resolve` fits."""

_MAX_PAGES = 50


def _literal(value: str) -> str:
    return value


class McpConnection:
    """A client of one configured server; `call_tool` raises McpServerUnavailable instead of hanging."""

    def __init__(
        self, settings: McpServerSettings, resolve: Resolve | None = None, *, errlog: TextIO | None = None
    ) -> None:
        self.settings = settings
        self._resolve = resolve or _literal
        self._errlog = errlog
        self._client: Client | None = None
        self._holder: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._lock = asyncio.Lock()
        self._closing: set[asyncio.Task[None]] = set()
        self.connects = 0

    @property
    def name(self) -> str:
        return self.settings.name

    @property
    def connected(self) -> bool:
        return self._client is not None and self._holder is not None and not self._holder.done()

    async def list_tools(self) -> list[types.Tool]:
        """Every tool the server offers, following pagination."""
        client = await self._connected()
        tools: list[types.Tool] = []
        cursor: str | None = None
        for _ in range(_MAX_PAGES):
            page = await self._bounded("list its tools", functools.partial(client.list_tools, cursor=cursor))
            tools.extend(page.tools)
            cursor = page.next_cursor
            if not cursor:
                break
        return tools

    async def call_tool(self, tool: str, arguments: dict[str, Any]) -> types.CallToolResult:
        client = await self._connected()
        return await self._bounded(f"run {tool}", lambda: client.call_tool(tool, arguments))

    async def aclose(self) -> None:
        """Stop the holding task (which closes the session and ends a stdio server process), and wait for it."""
        self._discard()
        closing, self._closing = self._closing, set()
        for holder in list(closing):
            try:
                await asyncio.wait_for(asyncio.shield(holder), timeout=10)
            except TimeoutError:
                holder.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await holder
            except Exception:  # the holder already failed; its failure was logged there
                pass

    def _discard(self) -> None:
        """Let go of the session now; the old server winds down in the background so no caller waits for it."""
        holder, self._holder, self._client = self._holder, None, None
        if holder is not None:
            self._stop.set()
            self._closing.add(holder)
            holder.add_done_callback(self._closing.discard)

    # ---------------------------------------------------------------------------------------------- internals

    async def _bounded(self, what: str, request: Callable[[], Awaitable[T]]) -> T:
        limit = self.settings.timeout_seconds
        try:
            with anyio.fail_after(limit):
                return await request()
        except TimeoutError:
            self._discard()
            raise McpServerUnavailable(
                f"the MCP server {self.name!r} did not {what} within {limit:g} seconds; the connection was"
                " closed and the next call reconnects"
            ) from None
        except MCPError as error:
            if error.code != types.CONNECTION_CLOSED:
                raise
            self._discard()
            raise McpServerUnavailable(
                f"the MCP server {self.name!r} closed the connection while asked to {what};"
                " the next call reconnects (check that the server is still running)"
            ) from None
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.EndOfStream, OSError) as error:
            self._discard()
            raise McpServerUnavailable(
                f"the MCP server {self.name!r} went away while asked to {what} ({type(error).__name__});"
                " the next call reconnects"
            ) from None

    async def _connected(self) -> Client:
        async with self._lock:
            if self.connected and self._client is not None:
                return self._client
            self._discard()
            return await self._connect()

    async def _connect(self) -> Client:
        self._stop = asyncio.Event()
        ready: asyncio.Future[Client] = asyncio.get_running_loop().create_future()
        holder = asyncio.create_task(self._hold(ready, self._stop), name=f"mcp-client-{self.name}")
        limit = self.settings.connect_timeout_seconds
        try:
            client = await asyncio.wait_for(asyncio.shield(ready), timeout=limit)
        except TimeoutError:
            holder.cancel()
            raise McpServerUnavailable(
                f"the MCP server {self.name!r} did not finish connecting within {limit:g} seconds;"
                " check its command or url"
            ) from None
        except McpServerUnavailable:
            raise
        self._holder, self._client = holder, client
        self.connects += 1
        return client

    async def _hold(self, ready: asyncio.Future[Client], stop: asyncio.Event) -> None:
        """Own the client's whole life in this one task: enter, signal ready, wait to be stopped, leave."""
        try:
            async with self._new_client() as client:
                ready.set_result(client)
                await stop.wait()
        except asyncio.CancelledError:
            if not ready.done():
                ready.cancel()
            raise
        except BaseException as error:  # a dead server ends up here; the next call reconnects
            log.warning("MCP server %s: connection ended (%s)", self.name, type(error).__name__)
            if not ready.done():
                ready.set_exception(self._unavailable(error))

    def _unavailable(self, error: BaseException) -> McpServerUnavailable:
        where = "url" if self.settings.url is not None else "command"
        reason = error.message if isinstance(error, MCPError) else type(error).__name__
        return McpServerUnavailable(
            f"the MCP server {self.name!r} could not be reached ({reason}); check its {where} and that it"
            " speaks MCP"
        )

    @contextlib.asynccontextmanager
    async def _new_client(self) -> AsyncIterator[Client]:
        if self.settings.url is None:
            async with self._stdio_client() as client:
                yield client
            return
        headers = {name: self._value(value) for name, value in self.settings.headers.items()}
        async with httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30.0, read=300.0)) as http:
            transport = streamable_http_client(self.settings.url, http_client=http)
            async with Client(transport, read_timeout_seconds=self.settings.timeout_seconds) as client:
                yield client

    def _stdio_client(self) -> Client:
        env = {name: self._value(value) for name, value in self.settings.env.items()}
        parameters = StdioServerParameters(
            command=self.settings.command or "",
            args=list(self.settings.args),
            env=env or None,
            cwd=self.settings.cwd,
        )
        from mcp.client.stdio import stdio_client

        return Client(
            stdio_client(parameters, errlog=_usable_errlog(self._errlog or sys.stderr)),
            read_timeout_seconds=self.settings.timeout_seconds,
        )

    def _value(self, value: str) -> str:
        return self._resolve(value) if is_secret_ref(value) else value


def _usable_errlog(stream: TextIO) -> TextIO:
    """A child process needs a real file for its stderr; a captured stream (tests, CLI runners) has none."""
    try:
        stream.fileno()
    except (OSError, ValueError, AttributeError):
        return sys.__stderr__ or stream
    return stream
