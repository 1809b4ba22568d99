"""The private internals of FastAPI and uvicorn that the hot path leans on are where it expects them.

fastapi and uvicorn are pinned exactly in pyproject.toml for this reason; when a bump moves one of these, the
hot path would quietly step aside (or break), so each assertion names what moved and where the code uses it.
"""

from __future__ import annotations

import inspect
import tomllib
from importlib.metadata import version
from pathlib import Path

from fastapi import FastAPI
from starlette.middleware import Middleware
from uvicorn.protocols.http import httptools_impl

from sophia.server import http_protocol
from sophia.server._fastpath import SophiaAPI
from sophia.server._uvicorn import CoalescingHttpToolsProtocol

PYPROJECT = Path(__file__).parents[2] / "pyproject.toml"


def _pins() -> dict[str, str]:
    dependencies = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    pins = {}
    for spec in dependencies:
        name, _, pinned = spec.partition("==")
        if pinned:
            pins[name.split("[")[0]] = pinned
    return pins


def test_fastapi_and_uvicorn_run_at_their_pinned_versions() -> None:
    pins = _pins()
    for package in ("fastapi", "uvicorn"):
        assert package in pins, f"{package} must be pinned with == in pyproject.toml (its internals are used)"
        assert version(package) == pins[package], (
            f"{package} {version(package)} is installed but {pins[package]} is pinned: reinstall, or bump the pin "
            "after this file passes against the new version"
        )


def test_fastapi_still_has_native_telemetry_with_enabled() -> None:
    app = FastAPI()
    native = getattr(app, "_native_telemetry", None)
    assert native is not None, (
        "FastAPI no longer sets app._native_telemetry; SophiaAPI._telemetry_enabled (server/_fastpath.py) reads it"
    )
    assert callable(getattr(native, "enabled", None)), (
        "FastAPI's _native_telemetry lost enabled(); SophiaAPI._telemetry_enabled (server/_fastpath.py) calls it"
    )
    assert native.enabled() is False, (
        "with no OpenTelemetry configured, FastAPI's native telemetry should be off"
    )


def test_fastapi_user_middleware_is_a_list_of_class_args_kwargs() -> None:
    app = SophiaAPI()
    app.add_middleware(Middleware, "positional", keyword=1)
    assert isinstance(app.user_middleware, list) and app.user_middleware, (
        "FastAPI.user_middleware is gone or not a list; SophiaAPI._build_hot (server/_fastpath.py) rebuilds it"
    )
    cls, args, kwargs = app.user_middleware[0]
    assert (cls, args, kwargs) == (Middleware, ("positional",), {"keyword": 1}), (
        "starlette's Middleware no longer unpacks into (cls, args, kwargs); SophiaAPI._build_hot relies on it"
    )
    assert isinstance(app.exception_handlers, dict), (
        "FastAPI.exception_handlers moved; SophiaAPI._build_hot reads it"
    )


def test_uvicorn_httptools_protocol_keeps_the_hook_and_cycle_fields() -> None:
    protocol = httptools_impl.HttpToolsProtocol
    hook = getattr(protocol, "_start_asgi_task", None)
    assert hook is not None, (
        "uvicorn's HttpToolsProtocol lost _start_asgi_task; server/_uvicorn.py overrides it to coalesce writes"
    )
    assert list(inspect.signature(hook).parameters) == ["self", "cycle", "app"], (
        "uvicorn's HttpToolsProtocol._start_asgi_task changed its parameters; server/_uvicorn.py overrides it"
    )
    cycle = httptools_impl.RequestResponseCycle
    assert inspect.iscoroutinefunction(cycle.send), (
        "uvicorn's RequestResponseCycle.send is no longer a coroutine"
    )
    source = inspect.getsource(cycle.__init__)
    for field in ("self.transport", "self.response_started"):
        assert field in source, (
            f"uvicorn's RequestResponseCycle no longer sets {field}; _CoalescingCycle (server/_uvicorn.py) uses it"
        )
    assert http_protocol() is CoalescingHttpToolsProtocol, (
        "http_protocol() fell back to uvicorn's own protocol: the hook it needs is missing in this uvicorn"
    )


def test_httptools_is_a_declared_dependency() -> None:
    dependencies = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    assert any(spec.startswith("httptools") for spec in dependencies), (
        "gateway/providers/_pool.py imports httptools: declare it in pyproject.toml"
    )
