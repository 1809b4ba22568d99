"""The web dashboard: accounts, chat, usage, models, admin and /metrics, mounted on the API app by `install_web`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from sophia.observability.tracing import GenAiTracer, open_tracing, tracing_settings
from sophia.server._ratelimit import ApiRateLimitMiddleware
from sophia.server.web import (
    _metrics,
    _pages_account,
    _pages_admin,
    _pages_approvals,
    _pages_bi,
    _pages_bi_agents,
    _pages_bi_reports,
    _pages_chat,
    _pages_connectors,
    _pages_experiments,
    _pages_memory,
    _pages_models,
    _pages_research,
    _pages_runs,
    _pages_usage,
    _ws,
)
from sophia.server.web._chat import ChatRunner, Citation, Final, Recalled, Started, Token
from sophia.server.web._markdown import render_markdown
from sophia.server.web._memories import memory_of
from sophia.server.web._metrics import WebMetrics
from sophia.server.web._options import WebOptions
from sophia.server.web._page_errors import install_page_errors
from sophia.server.web._sessions import SessionStore, WebSession
from sophia.server.web._state import WebState

__all__ = [
    "ChatRunner",
    "Citation",
    "Final",
    "Recalled",
    "SessionStore",
    "Started",
    "Token",
    "WebMetrics",
    "WebOptions",
    "WebSession",
    "WebState",
    "install_web",
    "memory_of",
    "render_markdown",
]

STATIC_DIR = Path(__file__).parent / "static"


def install_web(app: FastAPI, options: WebOptions | None = None) -> None:
    """Mount the dashboard, /metrics, /ws/chat and the API rate limits on an app from `create_app`.

    Call it once, before the app starts; its objects bind to the app's services when the lifespan begins.
    """
    web = WebState(options or app.state.settings.web)
    metrics = WebMetrics()
    app.state.web = web
    app.state.web_metrics = metrics
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(started: FastAPI) -> AsyncIterator[Any]:
        async with inner(started) as state:
            services = started.state.services
            web.bind(services)
            metrics.hook(services.gateway)
            tracer = _start_tracing(started, services.settings)
            try:
                yield state
            finally:
                if getattr(started.state, "memory", None) in web.owned:
                    started.state.memory = None
                await web.aclose()
                if tracer is not None:
                    tracer.shutdown()

    app.router.lifespan_context = lifespan
    pages = (
        _pages_account,
        _pages_chat,
        _pages_memory,
        _pages_research,
        _pages_bi,
        _pages_runs,
        _pages_approvals,
        _pages_connectors,
        _pages_usage,
        _pages_bi_reports,
        _pages_models,
        _pages_experiments,
        _pages_admin,
        _pages_bi_agents,
    )
    for module in (*pages, _metrics, _ws):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(ApiRateLimitMiddleware, web=web)
    app.state.request_observers.append(metrics.observe_http)  # counted by create_app's RequestIdMiddleware
    install_page_errors(app)


def _start_tracing(app: FastAPI, settings: Any) -> GenAiTracer | None:
    """A span per model call when `[tracing]` says so; a tracer set on `app.state.tracer` (tests) wins."""
    tracer: GenAiTracer | None = getattr(app.state, "tracer", None)
    owned = tracer is None
    if tracer is None:
        tracer = open_tracing(tracing_settings(settings))
    if tracer is None:
        return None
    tracer.hook(app.state.services.gateway.ledger)
    app.state.tracer = tracer
    return tracer if owned else None
