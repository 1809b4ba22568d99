"""`sophia serve --only gateway`: the model API alone, for a replica that only routes model calls.

The OpenAI-compatible and Anthropic routes, usage and budgets, health, the API rate limits and the body limits,
over the same services as the full app, but nothing of memory, tools, runs, the dashboard or MCP is imported, so
the process holds the gateway and little else.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

import sophia
from sophia.config import Settings, WebSettings
from sophia.server import _anthropic, _feedback, _health, _openai, _usage
from sophia.server._bodylimit import BodyLimitMiddleware, BodyLimits
from sophia.server._errors import install_error_handlers
from sophia.server._fastpath import SophiaAPI
from sophia.server._json import JsonResponse
from sophia.server._middleware import RequestIdMiddleware, RequestObserver
from sophia.server._ratelimit import ApiRateLimitMiddleware
from sophia.server._schemas import errors
from sophia.server._services import Services


class GatewayState:
    """What the rate-limit middleware reads: the `[web]` limits and, once started, the services."""

    def __init__(self, options: WebSettings) -> None:
        self.options = options
        self._services: Services | None = None

    def bind(self, services: Services) -> None:
        self._services = services

    @property
    def bound(self) -> bool:
        return self._services is not None

    @property
    def services(self) -> Services:
        if self._services is None:
            raise RuntimeError("the gateway app is used before it started")
        return self._services


def create_gateway_app(settings: Settings, services: Services | None = None) -> FastAPI:
    """The model API only; services are started in the lifespan (without memory) unless given."""
    state = GatewayState(settings.web)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = services is None
        app.state.services = services or await Services.start(settings, memory=False)
        state.bind(app.state.services)
        try:
            yield
        finally:
            if owned:
                await app.state.services.aclose()

    app = SophiaAPI(
        title="Sophia gateway",
        version=sophia.__version__,
        lifespan=lifespan,
        default_response_class=JsonResponse,
    )
    app.state.settings = settings
    app.state.request_observers = observers = list[RequestObserver]()
    install_error_handlers(app)
    app.include_router(_health.router)
    app.include_router(_openai.router)
    app.include_router(_anthropic.router)
    app.include_router(_usage.router, responses=errors(400, 401, 403, 404, 413, 422, 429, 500))
    app.include_router(_feedback.router, responses=errors(400, 401, 403, 404, 413, 422, 429, 500))
    limits = BodyLimits(model_api=settings.server.max_body_bytes, default=settings.server.max_request_bytes)
    app.add_middleware(BodyLimitMiddleware, limits=limits)
    app.add_middleware(ApiRateLimitMiddleware, web=state)
    app.add_middleware(RequestIdMiddleware, observers=observers)
    return app


__all__ = ["GatewayState", "create_gateway_app"]
