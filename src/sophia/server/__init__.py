"""The HTTP shell: FastAPI app, authentication, error shape. Business logic lives in the layers below."""

from sophia.server._auth import CurrentPrincipal, authenticate, require_role
from sophia.server._services import Services
from sophia.server._toolkit import ToolKit, open_toolkit
from sophia.server._uvicorn import http_protocol, proxy_options
from sophia.server.app import create_app

__all__ = [
    "CurrentPrincipal",
    "Services",
    "ToolKit",
    "authenticate",
    "create_app",
    "http_protocol",
    "open_toolkit",
    "proxy_options",
    "require_role",
]
