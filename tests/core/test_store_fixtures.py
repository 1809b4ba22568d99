"""The suite-wide guards in tests/conftest.py: no outbound network, an isolated SOPHIA_HOME."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import httpx
import pytest


def test_resolving_a_public_host_is_blocked() -> None:
    with pytest.raises(OSError, match="may only resolve localhost"):
        socket.getaddrinfo("api.openai.com", 443)


def test_connecting_to_a_public_address_is_blocked() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock, pytest.raises(OSError, match="127.0.0.1"):
        sock.connect(("8.8.8.8", 53))


async def test_an_http_client_cannot_reach_a_paid_api() -> None:
    async with httpx.AsyncClient() as client:
        with pytest.raises(httpx.ConnectError):
            await client.get("https://api.anthropic.com/v1/messages")


def test_loopback_stays_reachable() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=5):
            pass
    assert socket.getaddrinfo("localhost", 80)


def test_sophia_home_is_a_fresh_temporary_directory(tmp_path: Path) -> None:
    home = Path(os.environ["SOPHIA_HOME"])
    assert home.is_dir() and tmp_path in home.parents
    assert not any(home.iterdir())
    leaked = [
        name
        for name in os.environ
        if name.startswith("SOPHIA_") and name != "SOPHIA_HOME" and not name.startswith("SOPHIA_TEST_")
    ]
    assert leaked == []
