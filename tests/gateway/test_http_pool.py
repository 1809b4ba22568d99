"""The lean HTTP/1.1 pool against a real server on 127.0.0.1 that answers with every framing and failure."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest

from sophia.gateway.providers._pool import HTTP11Pool, PoolError, PoolTimeout

Reply = Callable[[bytes], bytes | None]  # request bytes -> raw response (None: stall)


@dataclass
class Upstream:
    """Reads one request at a time per connection and answers with `reply`; counts connections and requests."""

    reply: Reply
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)
    close_after_reply: bool = False
    url: str = ""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                request = head + await reader.readexactly(length)
                self.requests.append(request)
                answer = self.reply(request)
                if answer is None:
                    await asyncio.sleep(30)
                    return
                writer.write(answer)
                await writer.drain()
                if self.close_after_reply:
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            writer.close()


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    state = Upstream(reply=lambda _: _response(b'{"ok": true}'))
    server = await asyncio.start_server(state.handle, "127.0.0.1", 0)
    state.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1"
    async with server:
        yield state
        server.close()


def _response(body: bytes, status: int = 200, extra: bytes = b"") -> bytes:
    head = f"HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n"
    return head.encode() + extra + b"\r\n" + body


def _pool(url: str, **kwargs: float) -> HTTP11Pool:
    return HTTP11Pool(url, {"authorization": "Bearer sk-test"}, connect_timeout=2.0, **kwargs)  # type: ignore[arg-type]


async def test_post_sends_path_headers_and_body_and_reuses_one_connection(upstream: Upstream) -> None:
    pool = _pool(upstream.url)
    for _ in range(3):
        status, headers, body = await pool.post("/chat/completions", b'{"a":1}', timeout=5)
        assert (status, headers["content-type"], body) == (200, "application/json", b'{"ok": true}')
    await pool.aclose()
    first = upstream.requests[0]
    assert first.startswith(b"POST /v1/chat/completions HTTP/1.1\r\n")
    assert b"authorization: Bearer sk-test\r\n" in first and first.endswith(b'\r\n\r\n{"a":1}')
    assert upstream.connections == 1 and len(upstream.requests) == 3


async def test_chunked_and_close_delimited_bodies_are_read_whole(upstream: Upstream) -> None:
    chunked = b'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n4\r\n{"a"\r\n3\r\n:1}\r\n0\r\n\r\n'
    upstream.reply = lambda _: chunked
    pool = _pool(upstream.url)
    assert (await pool.post("/x", b"{}", timeout=5))[2] == b'{"a":1}'
    upstream.reply = lambda _: b'HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n{"until":"eof"}'
    upstream.close_after_reply = True
    assert (await pool.post("/x", b"{}", timeout=5))[2] == b'{"until":"eof"}'
    await pool.aclose()


async def test_error_statuses_come_back_with_their_headers(upstream: Upstream) -> None:
    upstream.reply = lambda _: _response(b'{"error":{}}', 429, b"Retry-After: 7\r\n")
    pool = _pool(upstream.url)
    status, headers, _ = await pool.post("/x", b"{}", timeout=5)
    await pool.aclose()
    assert status == 429 and headers["retry-after"] == "7"


async def test_a_kept_alive_connection_the_server_closed_is_replaced_transparently(
    upstream: Upstream,
) -> None:
    upstream.close_after_reply = True  # every connection serves one request, then the server closes it
    pool = _pool(upstream.url)
    for _ in range(3):
        await asyncio.sleep(0.05)
        assert (await pool.post("/x", b"{}", timeout=5))[0] == 200
    await pool.aclose()
    assert upstream.connections == 3


async def test_a_stalled_upstream_raises_a_response_timeout_and_frees_the_slot(upstream: Upstream) -> None:
    upstream.reply = lambda _: None
    pool = _pool(upstream.url, max_connections=1)
    with pytest.raises(PoolTimeout) as caught:
        await pool.post("/x", b"{}", timeout=0.2)
    assert caught.value.phase == "response"
    upstream.reply = lambda _: _response(b"{}")
    assert (await pool.post("/x", b"{}", timeout=5))[0] == 200
    await pool.aclose()


async def test_a_malformed_response_is_a_pool_error(upstream: Upstream) -> None:
    upstream.reply = lambda _: b"NOT HTTP AT ALL\r\n\r\n"
    pool = _pool(upstream.url)
    with pytest.raises(PoolError):
        await pool.post("/x", b"{}", timeout=5)
    await pool.aclose()


async def test_callers_beyond_max_connections_wait_for_a_free_connection(upstream: Upstream) -> None:
    pool = _pool(upstream.url, max_connections=2)
    answers = await asyncio.gather(*(pool.post("/x", b"{}", timeout=5) for _ in range(10)))
    await pool.aclose()
    assert [a[0] for a in answers] == [200] * 10 and upstream.connections <= 2


async def test_a_refused_connection_is_a_connect_error() -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    pool = _pool(f"http://127.0.0.1:{port}")
    with pytest.raises(PoolError) as caught:
        await pool.post("/x", b"{}", timeout=5)
    assert caught.value.phase == "connect"


def test_an_environment_proxy_keeps_the_httpx_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert not HTTP11Pool.usable_for("https://api.openai.com/v1")
    assert HTTP11Pool.usable_for("http://127.0.0.1:8000/v1")  # http is not proxied by HTTPS_PROXY
    monkeypatch.setenv("NO_PROXY", "api.openai.com")
    assert HTTP11Pool.usable_for("https://api.openai.com/v1")
