"""Extreme numbers and dates in every route's request body: a typed 4xx, never a 500.

A 500 that does happen still names its request id (body and header) and keeps the connection open.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
import pytest
import uvicorn
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sophia.config import Settings
from sophia.gateway.providers import ScriptedProvider
from sophia.server import create_app
from tests.serving import clean_env, create_key, free_port

EXTREME_NUMBERS = [1e308, -1e308, 1.7976931348623157e308, 2**63, -(2**63), 2**200, 0, -1, 5e-324]
EXTREME_DATES = [
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:00:00",
    "9999-12-31T23:59:59.999999",
    "1970-01-01T00:00:00Z",
]


def _bodies(app: FastAPI) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, {field: schema}) for every route with a JSON body and numeric or date fields."""
    document = app.openapi()
    found = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if not content or "{" in path:
                continue
            schema = content["schema"]
            if "$ref" in schema:
                schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
            fields = {
                name: spec for name, spec in schema.get("properties", {}).items() if _extreme_kind(spec)
            }
            if fields:
                found.append((method.upper(), path, schema, fields))
    return [(m, p, {"schema": s, "fields": f}) for m, p, s, f in found]


def _extreme_kind(spec: dict[str, Any]) -> str | None:
    options = spec.get("anyOf", [spec])
    for option in options:
        if option.get("type") in ("number", "integer"):
            return "number"
        if option.get("format") == "date-time":
            return "date"
    return None


def _minimal(schema: dict[str, Any]) -> dict[str, Any]:
    """The smallest valid-looking body: each required field with a plain value."""
    plain = {"string": "x", "array": [{"role": "user", "content": "hi"}], "object": {}, "boolean": False}
    return {
        name: plain.get(schema["properties"][name].get("type", "string"), "x")
        for name in schema.get("required", [])
    }


HOME = Path(__file__).parent
ROUTES = _bodies(create_app(Settings(home=HOME), mcp=False))


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, FastAPI]]:
    home = tmp_path_factory.mktemp("extremes")
    key = create_key(clean_env(home), "fuzzer")
    app = create_app(Settings(home=home, server={"run_worker": False}), mcp=False)
    app.add_api_route("/v1/test-crash", _crash, methods=["GET"])  # stands in for any unforeseen bug
    served_lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def scripted(started: FastAPI) -> AsyncIterator[Any]:
        async with served_lifespan(started) as state:  # the scripted model answers instead of the local one
            started.state.services.gateway.providers["local"] = ScriptedProvider(lambda _: "ok", name="local")
            yield state

    app.router.lifespan_context = scripted
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", key, app
    server.should_exit = True
    thread.join(timeout=10)


async def _crash() -> None:
    raise RuntimeError("an unforeseen bug")


def test_every_route_with_numbers_or_dates_is_covered() -> None:
    paths = {path for _, path, _ in ROUTES}
    assert {"/v1/memory", "/v1/memory/recall", "/v1/runs", "/v1/chat/completions"} <= paths


@pytest.mark.parametrize(("method", "path", "spec"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_extreme_values_get_a_typed_client_error(
    served: tuple[str, str, FastAPI], method: str, path: str, spec: dict[str, Any], data: st.DataObject
) -> None:
    url, key, _ = served
    body = _minimal(spec["schema"])
    if path == "/v1/chat/completions":
        body["model"], body["max_tokens"] = "auto", 2
    for name, field in spec["fields"].items():
        pool = EXTREME_NUMBERS if _extreme_kind(field) == "number" else EXTREME_DATES
        if data.draw(st.booleans(), label=f"set {name}"):
            body[name] = data.draw(st.sampled_from(pool), label=name)
    response = httpx.request(
        method, url + path, content=json.dumps(body), headers={"authorization": f"Bearer {key}"}, timeout=60
    )
    assert response.status_code < 500, (body, response.text)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/memory", {"content": "x", "ttl_seconds": 1e308}),
        ("/v1/memory/recall", {"query": "x", "as_of": "0001-01-01T00:00:00+14:00"}),
    ],
)
def test_the_two_reported_overflows_are_422(
    served: tuple[str, str, FastAPI], path: str, body: dict[str, Any]
) -> None:
    url, key, _ = served
    response = httpx.post(url + path, json=body, headers={"authorization": f"Bearer {key}"})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["param"] in ("ttl_seconds", "as_of")


def test_a_500_names_its_request_id_and_keeps_the_connection(served: tuple[str, str, FastAPI]) -> None:
    url, key, _ = served
    parts = urlsplit(url)
    request = f"GET /v1/test-crash HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n\r\n".encode()
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        for _ in range(2):  # the second request goes over the same connection
            sock.sendall(request)
            head, body = _read_response(sock)
            assert head.startswith(b"HTTP/1.1 500"), head
            header_id = next(
                line.split(b":", 1)[1].strip().decode()
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"x-request-id:")
            )
            error = orjson.loads(body)["error"]
            assert error["request_id"] == header_id and error["code"] == "internal_error"
            assert b"connection: close" not in head.lower()


def _read_response(sock: socket.socket) -> tuple[bytes, bytes]:
    received = b""
    while b"\r\n\r\n" not in received:
        data = sock.recv(65536)
        assert data, "the server closed the connection"
        received += data
    head, _, body = received.partition(b"\r\n\r\n")
    length = next(
        int(v.split(b":")[1]) for v in head.split(b"\r\n") if v.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(65536)
    return head, body


def _query_dates(app: FastAPI) -> list[tuple[str, str]]:
    """(path, parameter) for every GET route's date-time query parameter."""
    found = []
    for path, operations in app.openapi()["paths"].items():
        for parameter in operations.get("get", {}).get("parameters", []):
            if parameter["in"] == "query" and _extreme_kind(parameter.get("schema", {})) == "date":
                found.append((path, parameter["name"]))
    return found


QUERY_DATES = _query_dates(create_app(Settings(home=HOME), mcp=False))


@pytest.mark.parametrize("when", EXTREME_DATES)
@pytest.mark.parametrize(("path", "name"), QUERY_DATES, ids=[f"{p}?{n}" for p, n in QUERY_DATES])
def test_extreme_dates_in_queries_get_a_typed_client_error(
    served: tuple[str, str, FastAPI], path: str, name: str, when: str
) -> None:
    url, key, _ = served
    response = httpx.get(
        url + path, params={name: when}, headers={"authorization": f"Bearer {key}"}, timeout=60
    )
    assert response.status_code < 500, response.text


def test_the_usage_report_dates_are_covered() -> None:
    assert ("/v1/usage", "since") in QUERY_DATES
