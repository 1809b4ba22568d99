"""Oversized and unauthenticated bodies against a real `sophia serve`: refused before they are read whole.

The proof is the server's peak resident memory (VmHWM in /proc/<pid>/status): it must stay flat while hundreds of
megabytes are offered, where reading the bodies whole raised it by more than the body's size.
"""

from __future__ import annotations

import select
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import orjson
import pytest

from tests.serving import Server, clean_env, create_key, running_sophia

MB = 1024 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    home = tmp_path_factory.mktemp("bodies")
    env = clean_env(
        home, SOPHIA_SERVER__RUN_WORKER="false", SOPHIA_WEB__REQUESTS_PER_MINUTE_UNAUTHENTICATED="0"
    )
    key = create_key(env, "alice")
    with running_sophia(env, home) as running:
        yield running, key


def peak_rss_kb(server: Server) -> int:
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1])


def offer(server: Server, head: str, chunks: Iterator[bytes]) -> tuple[int, bytes]:
    """Send a request head, then body chunks only while the server has not answered; return its status and body."""
    parts = urlsplit(server.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(head.encode())
        sock.setblocking(False)
        for chunk in chunks:
            view = memoryview(chunk)
            while view:
                readable, writable, _ = select.select([sock], [sock], [], 30)
                if readable:
                    return _response(sock)
                try:
                    view = view[sock.send(view) :]
                except (BrokenPipeError, ConnectionResetError):
                    return _response(sock)
        return _response(sock)


def _response(sock: socket.socket) -> tuple[int, bytes]:
    sock.setblocking(True)
    received = b""
    while b"\r\n\r\n" not in received:
        data = sock.recv(65536)
        assert data, f"the server closed without an answer: {received!r}"
        received += data
    head, _, body = received.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(65536)
    return int(head.split()[1]), body


def _head(path: str, length: int | None, key: str | None = None) -> str:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    lines.append(f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked")
    if key:
        lines.append(f"Authorization: Bearer {key}")
    return "\r\n".join(lines) + "\r\n\r\n"


def _filler(total: int, chunked: bool) -> Iterator[bytes]:
    piece = b'{"content":"' + b"x" * (MB - 20)
    for _ in range(total // MB):
        yield f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if chunked else piece


def test_huge_bodies_are_refused_with_413_and_peak_memory_stays_flat(server: tuple[Server, str]) -> None:
    running, key = server
    before = peak_rss_kb(running)
    offered = 0
    attacks = [
        ("/v1/memory", 350_000_014, None),  # no key, a declared 350 MB
        ("/v1/memory", 200 * MB, key),  # a key, a declared 200 MB
        ("/v1/chat/completions", 200 * MB, key),  # the raw fast path
        ("/v1/messages", 200 * MB, key),  # Anthropic's shape
        ("/v1/memory", None, key),  # chunked: no length to check up front
        ("/v1/chat/completions", None, key),
        ("/mcp", None, None),
    ]
    for path, length, with_key in attacks:
        size = length or 200 * MB
        offered += size
        status, body = offer(running, _head(path, length, with_key), _filler(size, chunked=length is None))
        assert status == 413, (path, length, body)
        answer = orjson.loads(body)
        if path == "/v1/messages":
            assert answer["type"] == "error" and "at most" in answer["error"]["message"], answer
        else:
            assert answer["error"]["code"] == "body_too_large" and answer["error"]["request_id"], answer
    grown_mb = (peak_rss_kb(running) - before) / 1024
    assert grown_mb < 64, f"peak memory grew by {grown_mb:.0f} MB while {offered // MB} MB were offered"


def test_a_wrong_key_is_refused_before_the_body_is_read(server: tuple[Server, str]) -> None:
    running, _ = server
    # The body (half a megabyte, under every limit) is never sent: the answer must come without it.
    status, body = offer(running, _head("/v1/memory", 500_000, "sph_wrong_key"), iter(()))
    assert status == 401
    assert orjson.loads(body)["error"]["code"] == "unauthorized"


def test_a_body_within_the_limit_still_works(server: tuple[Server, str]) -> None:
    running, key = server
    payload = orjson.dumps({"content": "the deploy window is Tuesday"})
    status, body = offer(running, _head("/v1/memory", len(payload), key), iter([payload]))
    assert status == 201, body
