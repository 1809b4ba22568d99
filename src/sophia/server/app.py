"""The FastAPI application: thin routes over service objects; later layers add their routers here."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI

import sophia
from sophia.bi import ReportSchedule
from sophia.config import Settings
from sophia.connectors import SyncSchedule
from sophia.server import (
    _anthropic,
    _approvals,
    _bi,
    _bi_agents,
    _bi_reports,
    _code,
    _connectors,
    _feedback,
    _health,
    _memory,
    _openai,
    _research,
    _research_runs,
    _runs,
    _usage,
)
from sophia.server._bodylimit import BodyLimitMiddleware, BodyLimits
from sophia.server._errors import install_error_handlers
from sophia.server._fastpath import SophiaAPI
from sophia.server._json import JsonResponse
from sophia.server._middleware import RequestIdMiddleware, RequestObserver
from sophia.server._polling import EventPollers
from sophia.server._schemas import errors
from sophia.server._services import Services, hosted_run_worker
from sophia.server.web import install_web


def create_app(settings: Settings, services: Services | None = None, *, mcp: bool = True) -> FastAPI:
    """Build the app; services are started in the lifespan unless given (tests may pass their own)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = services is None
        app.state.services = services or await Services.start(settings)
        try:
            await app.state.services.open_tools()
            async with AsyncExitStack() as stack:
                if settings.server.run_worker:  # runs progress with no separate `sophia worker`
                    app.state.run_service = await stack.enter_async_context(
                        hosted_run_worker(app.state.services)
                    )
                connectors = app.state.services.toolkit().connectors
                if connectors is not None:
                    await stack.enter_async_context(EventPollers(app, connectors))
                    memory = app.state.services.memory
                    if memory is not None:
                        await stack.enter_async_context(
                            SyncSchedule(settings, app.state.services.database, memory, connectors)
                        )
                await stack.enter_async_context(
                    ReportSchedule(settings, app.state.services.database, connectors)
                )
                yield
        finally:
            run_service = getattr(app.state, "run_service", None)
            app.state.run_service = None
            if run_service is not None:
                await run_service.aclose()
            if owned:
                await app.state.services.aclose()

    app = SophiaAPI(  # FastAPI with POST /v1/chat/completions dispatched before its own layers
        title="Sophia",
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
    app.include_router(_runs.router, responses=errors(400, 401, 403, 404, 409, 413, 422, 429, 500))
    app.include_router(_code.router, responses=errors(400, 401, 403, 404, 413, 422, 429, 500))
    app.include_router(_approvals.router, responses=errors(400, 401, 403, 404, 409, 413, 422, 429, 500))
    app.include_router(_memory.router, responses=errors(400, 401, 403, 404, 413, 422, 429, 500))
    app.include_router(_connectors.router, responses=errors(400, 401, 403, 404, 413, 422, 429, 500, 502, 503))
    app.include_router(_research.router, responses=errors(400, 401, 403, 413, 422, 429, 500, 502))
    app.include_router(_bi_agents.router, responses=errors(400, 401, 403, 404, 413, 422, 429, 500))
    app.include_router(_research_runs.router, responses=errors(400, 401, 403, 404, 413, 422, 429, 500))
    app.include_router(_bi.router, responses=errors(400, 401, 403, 404, 409, 413, 422, 429, 500))
    app.include_router(_bi_reports.router, responses=errors(400, 401, 403, 404, 413, 422, 429, 500))
    # Inside the rate limits (which verify the key first), outside everything that reads a body.
    limits = BodyLimits(model_api=settings.server.max_body_bytes, default=settings.server.max_request_bytes)
    app.add_middleware(BodyLimitMiddleware, limits=limits)
    install_web(app)
    if mcp:
        from sophia.mcp import install_mcp  # imported late: the MCP SDK takes a second to import

        install_mcp(app)
    # Added last, so it is the outermost: even a rate-limited request gets an id, an access line and metrics.
    app.add_middleware(RequestIdMiddleware, observers=observers)
    return app
