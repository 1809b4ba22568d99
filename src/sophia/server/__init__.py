"""The HTTP shell: FastAPI app, authentication, error shape. Business logic lives in the layers below."""

from sophia.server._auth import CurrentPrincipal, authenticate, require_role
from sophia.server._services import Services
from sophia.server.app import create_app

__all__ = ["CurrentPrincipal", "Services", "create_app", "authenticate", "require_role"]
