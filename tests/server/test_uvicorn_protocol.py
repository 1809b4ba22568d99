"""The coalescing uvicorn protocol: one write per fixed-length response, streams untouched, failures still 500."""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.config import Config
from uvicorn.server import ServerState

from sophia.server._uvicorn import CoalescingHttpToolsProtocol, http_protocol

REQUEST = b"GET / HTTP/1.1\r\nHost: test\r\n\r\n"


class RecordingTransport:
    """What uvicorn's protocol needs from a transport, recording every write."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def get_extra_info(self, name: str) -> Any:
        return {"peername": ("127.0.0.1", 5000), "sockname": ("127.0.0.1", 8000)}.get(name)

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None: ...

    def resume_reading(self) -> None: ...

    def set_write_buffer_limits(self, *args: Any, **kwargs: Any) -> None: ...


async def _serve_once(app: Any, request: bytes = REQUEST, steps: int = 20) -> RecordingTransport:
    config = Config(app, log_config=None, lifespan="off", proxy_headers=False)
    protocol = CoalescingHttpToolsProtocol(config=config, server_state=ServerState(), app_state={})
    transport = RecordingTransport()
    protocol.connection_made(transport)  # type: ignore[arg-type]
    protocol.data_received(request)
    for _ in range(steps):
        await asyncio.sleep(0)
    return transport


async def fixed(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"5")]})
    await send({"type": "http.response.body", "body": b"hello"})


async def test_fixed_length_response_goes_out_in_one_write() -> None:
    transport = await _serve_once(fixed)
    assert len(transport.writes) == 1
    head, _, body = transport.writes[0].partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK") and b"content-length: 5" in head
    assert body == b"hello"


async def test_pipelined_requests_get_their_responses_in_order() -> None:
    calls = 0

    async def numbered(scope: Any, receive: Any, send: Any) -> None:
        nonlocal calls
        calls += 1
        body = str(calls).encode()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1")]})
        await send({"type": "http.response.body", "body": body})

    transport = await _serve_once(numbered, REQUEST * 2, steps=60)
    assert [w.rpartition(b"\r\n\r\n")[2] for w in transport.writes] == [b"1", b"2"]


async def test_stream_headers_are_written_before_the_first_chunk() -> None:
    release = asyncio.Event()

    async def streamed(scope: Any, receive: Any, send: Any) -> None:
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]}
        )
        await release.wait()
        await send({"type": "http.response.body", "body": b"late"})

    transport = await _serve_once(streamed)
    assert len(transport.writes) == 1 and transport.writes[0].startswith(b"HTTP/1.1 200 OK")
    release.set()
    for _ in range(20):
        await asyncio.sleep(0)
    assert b"late" in b"".join(transport.writes[1:])


async def test_app_failing_after_a_held_start_gets_a_500_not_the_held_200() -> None:
    async def broken(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"5")]})
        raise RuntimeError("boom")

    transport = await _serve_once(broken)
    sent = b"".join(transport.writes)
    assert sent.startswith(b"HTTP/1.1 500 Internal Server Error") and b"200 OK" not in sent
    assert transport.closed


async def test_connection_close_is_applied_after_the_coalesced_write() -> None:
    request = b"GET / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    transport = await _serve_once(fixed, request)
    assert transport.writes and transport.writes[-1].endswith(b"hello")
    assert transport.closed


def test_serve_uses_the_coalescing_protocol_on_this_uvicorn() -> None:
    assert http_protocol() is CoalescingHttpToolsProtocol
