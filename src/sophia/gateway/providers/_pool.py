"""A small pooled HTTP/1.1 client for JSON POSTs: asyncio protocols plus the httptools parser.

httpx + httpcore + anyio spend several hundred microseconds of CPU per call on pool bookkeeping and state machines;
a proxied completion needs one write and one parsed response on a kept-alive connection. Streams and injected test
transports stay on httpx.
"""

from __future__ import annotations

import asyncio
import ssl
import urllib.request
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, cast
from urllib.parse import urlsplit

import httptools


class PoolError(Exception):
    """A transport failure; `phase` is "connect" (nothing was sent) or "response" (the exchange broke)."""

    def __init__(self, message: str, *, phase: str) -> None:
        super().__init__(message)
        self.phase = phase


class PoolTimeout(PoolError):
    """No connection, or no complete response, within the allowed time."""


class _Exchange:
    """One response being read: status, headers (lower-cased names) and body parts."""

    __slots__ = ("body", "complete", "framed", "headers", "status", "waiter")

    def __init__(self, waiter: asyncio.Future[None]) -> None:
        self.waiter = waiter
        self.status = 0
        self.headers: dict[str, str] = {}
        self.body: list[bytes] = []
        self.complete = False
        self.framed = False  # the response has a length or is chunked, so EOF does not end it


class _Connection(asyncio.Protocol):
    """One keep-alive connection; it answers one exchange at a time."""

    def __init__(self, pool: HTTP11Pool) -> None:
        self._pool = pool
        self._parser = httptools.HttpResponseParser(self)
        self._header_name = ""
        self.transport: asyncio.Transport | None = None
        self.exchange: _Exchange | None = None
        self.reusable = False
        self.received = False  # any byte of the current response arrived
        self.closed = False
        self.counted = True  # still counted among the pool's open connections

    # -- asyncio.Protocol -----------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass asyncio's

    def data_received(self, data: bytes) -> None:
        self.received = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as error:
            self._fail(PoolError(f"the upstream sent a malformed HTTP response ({error})", phase="response"))
            self.close()

    def eof_received(self) -> bool | None:
        return None  # close the transport; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.reusable = False
        self._pool.discard(self)
        exchange = self.exchange
        if exchange is not None and not exchange.complete:
            if exchange.status and not exchange.framed:
                self.on_message_complete()  # a body delimited by the end of the connection
            else:
                self._fail(PoolError("the upstream closed the connection mid-exchange", phase="response"))

    # -- httptools callbacks ---------------------------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.exchange is not None:
            self.exchange.headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        exchange = self.exchange
        if exchange is not None:
            exchange.status = self._parser.get_status_code()
            headers = exchange.headers
            exchange.framed = "content-length" in headers or "chunked" in headers.get("transfer-encoding", "")

    def on_body(self, body: bytes) -> None:
        if self.exchange is not None:
            self.exchange.body.append(body)

    def on_message_complete(self) -> None:
        exchange = self.exchange
        if exchange is None or exchange.complete:
            return
        exchange.complete = True
        self.reusable = not self.closed and self._parser.should_keep_alive()
        if not exchange.waiter.done():
            exchange.waiter.set_result(None)

    # -- used by the pool ------------------------------------------------------------------------------------

    def _fail(self, error: PoolError) -> None:
        exchange = self.exchange
        if exchange is not None and not exchange.waiter.done():
            exchange.waiter.set_exception(error)

    def start(self, request: bytes, waiter: asyncio.Future[None]) -> _Exchange:
        self.exchange = _Exchange(waiter)
        self.received = False
        self.reusable = False
        assert self.transport is not None
        self.transport.write(request)
        return self.exchange

    def close(self) -> None:
        self.reusable = False
        if self.transport is not None and not self.closed:
            self.transport.close()
        self.closed = True


class HTTP11Pool:
    """Keep-alive connections to one origin, at most `max_connections` open; callers wait for a free one."""

    def __init__(
        self,
        base_url: str,
        headers: Mapping[str, str],
        *,
        connect_timeout: float,
        max_connections: int = 100,
        ssl_context: Callable[[], ssl.SSLContext] = ssl.create_default_context,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self._host = parts.hostname
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        self._tls = parts.scheme == "https"
        self._ssl_factory = ssl_context  # called on the first connection: CA bundles take ms to load
        self._ssl: ssl.SSLContext | None = None
        self._prefix = parts.path.rstrip("/")
        host_header = parts.netloc.rpartition("@")[2]
        fixed = {"host": host_header, "user-agent": "sophia", **{k.lower(): v for k, v in headers.items()}}
        fixed.pop("content-length", None)
        self._head = "".join(f"{k}: {v}\r\n" for k, v in fixed.items()).encode("latin-1")
        self._connect_timeout = connect_timeout
        self._max = max_connections
        self._idle: list[_Connection] = []
        self._open = 0
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._closed = False

    def __repr__(self) -> str:
        return f"HTTP11Pool(host={self._host!r}, port={self._port}, open={self._open})"

    @staticmethod
    def usable_for(base_url: str) -> bool:
        """Only plain origins: a proxy from the environment (which httpx honours) keeps the httpx path."""
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.username:
            return False
        proxies = urllib.request.getproxies_environment()
        if not (proxies.get(parts.scheme) or proxies.get("all")):
            return True
        return bool(urllib.request.proxy_bypass(parts.hostname))

    async def post(
        self, path: str, body: bytes, *, timeout: float, headers: bytes = b""
    ) -> tuple[int, dict[str, str], bytes]:
        """POST `body`; the status, headers and body of the answer, all within `timeout` seconds."""
        request = b"".join(
            (
                b"POST ",
                (self._prefix + path).encode(),
                b" HTTP/1.1\r\n",
                self._head,
                headers,
                b"content-length: ",
                str(len(body)).encode(),
                b"\r\n\r\n",
                body,
            )
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        connection, reused = await self._acquire(loop, deadline)
        try:
            return await self._exchange(loop, connection, request, deadline)
        except PoolTimeout:
            raise
        except PoolError as error:
            if not (reused and error.phase == "response" and not connection.received):
                raise
        # A kept-alive connection the upstream had already closed: the request never reached it; retry once.
        connection, _ = await self._acquire(loop, deadline, fresh=True)
        return await self._exchange(loop, connection, request, deadline)

    async def _exchange(
        self, loop: asyncio.AbstractEventLoop, connection: _Connection, request: bytes, deadline: float
    ) -> tuple[int, dict[str, str], bytes]:
        waiter: asyncio.Future[None] = loop.create_future()
        timer = loop.call_at(deadline, _expire, waiter, "response")
        try:
            exchange = connection.start(request, waiter)
            await waiter
        except BaseException:
            connection.close()  # the exchange's state is unknown (timeout, cancellation, broken response)
            self.release(connection)
            raise
        finally:
            timer.cancel()
        self.release(connection)
        body = exchange.body
        return exchange.status, exchange.headers, body[0] if len(body) == 1 else b"".join(body)

    async def _acquire(
        self, loop: asyncio.AbstractEventLoop, deadline: float, *, fresh: bool = False
    ) -> tuple[_Connection, bool]:
        if self._closed:
            raise PoolError("the client is closed", phase="connect")
        while not fresh and self._idle:
            connection = self._idle.pop()
            if not connection.closed:
                return connection, True
        while self._open >= self._max:
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiting.append(waiter)
            timer = loop.call_at(
                min(deadline, loop.time() + self._connect_timeout), _expire, waiter, "connect"
            )
            try:
                await waiter
            finally:
                timer.cancel()
                if waiter in self._waiting:
                    self._waiting.remove(waiter)
            while not fresh and self._idle:
                connection = self._idle.pop()
                if not connection.closed:
                    return connection, True
        return await self._connect(loop, deadline), False

    async def _connect(self, loop: asyncio.AbstractEventLoop, deadline: float) -> _Connection:
        if self._tls and self._ssl is None:
            self._ssl = self._ssl_factory()
        self._open += 1
        try:
            limit = max(0.0, min(deadline - loop.time(), self._connect_timeout))
            async with asyncio.timeout(limit):
                _, protocol = await loop.create_connection(
                    lambda: _Connection(self),
                    self._host,
                    self._port,
                    ssl=self._ssl,
                    server_hostname=self._host if self._ssl is not None else None,
                )
        except TimeoutError:
            self._open -= 1
            self._wake()
            raise PoolTimeout(
                "no connection to the upstream within the connect timeout", phase="connect"
            ) from None
        except OSError as error:
            self._open -= 1
            self._wake()
            raise PoolError(
                f"cannot connect to the upstream ({type(error).__name__})", phase="connect"
            ) from None
        except BaseException:
            self._open -= 1
            self._wake()
            raise
        return protocol

    def release(self, connection: _Connection) -> None:
        """Back to the idle list when it can serve another exchange, else closed and no longer counted."""
        connection.exchange = None
        if connection.reusable and not self._closed:
            self._idle.append(connection)
            self._wake()
        else:
            connection.close()
            self.discard(connection)

    def discard(self, connection: _Connection) -> None:
        if connection.counted:
            connection.counted = False
            self._open -= 1
            self._wake()
        if connection in self._idle:
            self._idle.remove(connection)

    def _wake(self) -> None:
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def aclose(self) -> None:
        self._closed = True
        for connection in self._idle:
            connection.close()
        self._idle.clear()
        await asyncio.sleep(0)


def _expire(waiter: asyncio.Future[Any], phase: str) -> None:
    if not waiter.done():
        waiter.set_exception(PoolTimeout(f"the upstream did not answer in time ({phase})", phase=phase))


__all__ = ["HTTP11Pool", "PoolError", "PoolTimeout"]
