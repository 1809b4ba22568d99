"""Streamable HTTP under `/mcp/{name}` on Sophia's app: Host/Origin checks, API-key auth, per-key rate limits.

`install_mcp(app)` adds the routes and chains the app's lifespan, so the MCP session managers start after Sophia's
services and stop before them; `app.py` needs only that one call.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import orjson
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecurityMiddleware, TransportSecuritySettings
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from sophia.accounts import KeyBudgets, Principal, RateLimited, Role
from sophia.errors import AuthError
from sophia.mcp._caller import PRINCIPAL_KEY
from sophia.mcp._runtime import McpRuntime, open_runtime
from sophia.mcp._server import SERVER_NAMES, build_server, served_names
from sophia.mcp._settings import McpHttpSettings
from sophia.observability import redactor

__all__ = ["McpHttpEndpoint", "install_mcp", "security_settings"]

log = logging.getLogger("sophia.mcp.http")

RuntimeFactory = Callable[[Any], Awaitable[McpRuntime]]
_LOOPBACK = ("127.0.0.1", "localhost", "[::1]")


def security_settings(http: McpHttpSettings, bind_host: str | None = None) -> TransportSecuritySettings:
    """DNS-rebinding protection: loopback (any port), the bind address, and what the settings add."""
    hosts = [*_LOOPBACK]
    if bind_host and bind_host not in ("0.0.0.0", "::", *hosts):
        hosts.append(bind_host)
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=[f"{host}:*" for host in hosts] + [*hosts, *http.allowed_hosts],
        allowed_origins=[f"{scheme}://{host}:*" for host in hosts for scheme in ("http", "https")]
        + [f"http://{host}" for host in hosts]
        + list(http.allowed_origins),
    )


def _error(status: int, message: str, code: str, headers: dict[str, str] | None = None) -> Response:
    """Sophia's one JSON error shape."""
    body = {"error": {"message": redactor.redact(message), "type": code, "code": code, "param": None}}
    return Response(orjson.dumps(body), status, headers=headers, media_type="application/json")


class McpHttpEndpoint:
    """Dispatches `/mcp/{name}` to that server's session manager once `start` has run."""

    def __init__(self, http: McpHttpSettings, security: TransportSecuritySettings) -> None:
        self.http = http
        self.security = security
        self.managers: dict[str, StreamableHTTPSessionManager] = {}
        self.runtime: McpRuntime | None = None
        self.services: Any = None

    @asynccontextmanager
    async def running(self, runtime: McpRuntime, services: Any) -> AsyncIterator[None]:
        """Build every server on `runtime` and run their session managers for the app's lifetime."""
        self.runtime, self.services = runtime, services
        self.budgets = KeyBudgets.for_mcp(self.http, services.settings.web)
        managers = {
            name: StreamableHTTPSessionManager(
                app=build_server(name, runtime),
                security_settings=self.security,
                session_idle_timeout=self.http.session_idle_seconds,
                max_sessions=self.http.max_sessions,
            )
            for name in served_names(runtime.registry)
        }
        async with AsyncExitStack() as stack:
            for manager in managers.values():
                await stack.enter_async_context(manager.run())
            self.managers = managers
            try:
                yield
            finally:
                self.managers = {}

    def routes(self) -> list[Route]:
        named = [Route(f"/mcp/{name}", endpoint=_Named(self, name)) for name in SERVER_NAMES]
        return [Route("/mcp/health", endpoint=self.health, methods=["GET"]), *named]

    async def health(self, request: Request) -> Response:
        started = bool(self.managers) and self.runtime is not None
        served = list(self.managers) if started else []
        body: dict[str, Any] = {"status": "ok" if started else "starting", "servers": served}
        if self.runtime is not None and self.runtime.clients is not None:
            body["external"] = {
                "configured": self.runtime.clients.names,
                "failed": sorted(self.runtime.clients.errors),
            }
        return Response(orjson.dumps(body), 200 if started else 503, media_type="application/json")

    async def serve(self, name: str, scope: Scope, receive: Receive, send: Send) -> None:
        manager = self.managers.get(name)
        if manager is None and self.managers:
            known = ", ".join(self.managers)
            message = f"the {name} MCP server has no tools yet, so it is not served; serve one of {known}"
            await _error(404, message, "unknown_mcp_server")(scope, receive, send)
            return
        if manager is None:
            await _error(503, "the MCP endpoint is starting; retry shortly", "unavailable")(
                scope, receive, send
            )
            return
        request = Request(scope, receive)
        refused = await TransportSecurityMiddleware(self.security).validate_request(
            request, is_post=request.method == "POST"
        )
        if refused is not None:
            await refused(scope, receive, send)
            return
        outcome = await self._admit(request, name)
        if isinstance(outcome, Response):
            await outcome(scope, receive, send)
            return
        scope.setdefault("state", {})[PRINCIPAL_KEY] = outcome
        token = AccessToken(
            token="", client_id=f"sophia-key-{outcome.key_id}", scopes=[], subject=str(outcome.user_id)
        )
        scope["user"] = AuthenticatedUser(token)
        await manager.handle_request(scope, receive, send)

    async def _admit(self, request: Request, name: str) -> Principal | Response:
        """The caller's principal, or the 401/403/429 response that refuses them.

        The services' `KeyAdmission` verifies the key before it counts anything, on the counters the API uses.
        """
        address = request.client.host if request.client else "unknown"
        try:
            principal: Principal = await self.services.admission.admit(
                request.scope["headers"], address, self.budgets
            )
        except AuthError as error:
            return _error(401, error.message, "unauthorized", {"WWW-Authenticate": "Bearer"})
        except RateLimited as error:
            headers = {"Retry-After": str(max(1, round(error.retry_after)))}
            return _error(429, error.message, "rate_limited", headers)
        if principal.role is Role.PENDING:
            return _error(
                403, "your account is pending approval; ask an admin to give you a role", "forbidden"
            )
        if not (principal.allows(f"mcp:{name}") or principal.allows("mcp")):
            return _error(
                403, f"this API key lacks the scope 'mcp:{name}'; create a key with --scope mcp", "forbidden"
            )
        return principal


class _Named:
    """The ASGI app of one route: hands the request to the endpoint with the server's name."""

    def __init__(self, endpoint: McpHttpEndpoint, name: str) -> None:
        self.endpoint = endpoint
        self.name = name

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.endpoint.serve(self.name, scope, receive, send)


async def _default_runtime(services: Any) -> McpRuntime:
    """The server's own memory and tools, so `/mcp`, `/v1/memory` and the chat share one index, cache, set of
    external MCP connections and connectors in a process."""
    return await open_runtime(
        services.settings,
        services.database,
        memory=getattr(services, "memory", None),
        kit=getattr(services, "tools", None),
    )


def install_mcp(
    app: Any,
    services_getter: Callable[[], Any] | None = None,
    *,
    runtime_factory: RuntimeFactory | None = None,
    http: McpHttpSettings | None = None,
) -> McpHttpEndpoint:
    """Serve `/mcp/{name}` and `/mcp/health` on `app` (FastAPI or Starlette) from its lifespan onwards.

    `services_getter` returns the started `Services` (default `app.state.services`); `runtime_factory` builds the
    registry, invoker and memory from them (default `open_runtime(services.settings, services.database)`).
    """
    http = http or getattr(getattr(app.state, "settings", None), "mcp", None) or McpHttpSettings()
    bind = getattr(getattr(getattr(app.state, "settings", None), "server", None), "host", None)
    endpoint = McpHttpEndpoint(http, security_settings(http, bind))
    get_services = services_getter or (lambda: app.state.services)
    build = runtime_factory or _default_runtime
    original = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(target: Any) -> AsyncIterator[Any]:
        async with original(target) as state:
            services = get_services()
            runtime = await build(services)
            try:
                async with endpoint.running(runtime, services):
                    yield state
            finally:
                await runtime.aclose()

    app.router.lifespan_context = lifespan
    app.router.routes[0:0] = endpoint.routes()
    return endpoint
