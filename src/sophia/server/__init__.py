"""The HTTP shell: FastAPI app, authentication, error shape. Business logic lives in the layers below.

Names are imported on first use, so `sophia serve --only gateway` (`create_gateway_app`) never imports the
dashboard, the tools, the run worker or pydantic-ai that `create_app` brings in.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sophia.server._auth import CurrentPrincipal, authenticate, require_role
    from sophia.server._drain import DrainingServer
    from sophia.server._gateway_app import create_gateway_app
    from sophia.server._services import Services
    from sophia.server._toolkit import ToolKit, open_toolkit
    from sophia.server._uvicorn import http_protocol, proxy_options
    from sophia.server.app import create_app

_WHERE = {
    "CurrentPrincipal": "sophia.server._auth",
    "DrainingServer": "sophia.server._drain",
    "authenticate": "sophia.server._auth",
    "require_role": "sophia.server._auth",
    "Services": "sophia.server._services",
    "ToolKit": "sophia.server._toolkit",
    "open_toolkit": "sophia.server._toolkit",
    "http_protocol": "sophia.server._uvicorn",
    "proxy_options": "sophia.server._uvicorn",
    "create_app": "sophia.server.app",
    "create_gateway_app": "sophia.server._gateway_app",
}


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module 'sophia.server' has no attribute {name!r}")
    value = getattr(import_module(where), name)
    globals()[name] = value
    return value


__all__ = [
    "CurrentPrincipal",
    "DrainingServer",
    "Services",
    "ToolKit",
    "authenticate",
    "create_app",
    "create_gateway_app",
    "http_protocol",
    "open_toolkit",
    "proxy_options",
    "require_role",
]
