"""The web dashboard: accounts, chat, usage, models, admin and /metrics, mounted on the API app by `install_web`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from sophia.server.web import (
    _metrics,
    _pages_account,
    _pages_admin,
    _pages_chat,
    _pages_models,
    _pages_usage,
    _ws,
)
from sophia.server.web._chat import ChatRunner, Final, Started, Token
from sophia.server.web._conversations import ConversationInfo, ConversationService, MessageInfo
from sophia.server.web._limits import (
    CounterStore,
    LoginThrottle,
    MemoryCounters,
    RateLimited,
    RateLimiter,
    RedisCounters,
)
from sophia.server.web._markdown import render_markdown
from sophia.server.web._metrics import HttpMetricsMiddleware, WebMetrics
from sophia.server.web._options import WebOptions
from sophia.server.web._page_errors import install_page_errors
from sophia.server.web._ratelimit import ApiRateLimitMiddleware
from sophia.server.web._sessions import SessionStore, WebSession
from sophia.server.web._state import WebState

__all__ = [
    "ChatRunner",
    "ConversationInfo",
    "ConversationService",
    "CounterStore",
    "Final",
    "LoginThrottle",
    "MemoryCounters",
    "MessageInfo",
    "RateLimited",
    "RateLimiter",
    "RedisCounters",
    "SessionStore",
    "Started",
    "Token",
    "WebMetrics",
    "WebOptions",
    "WebSession",
    "WebState",
    "install_web",
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
            web.bind(started.state.services)
            metrics.hook(started.state.services.gateway)
            try:
                yield state
            finally:
                await web.aclose()

    app.router.lifespan_context = lifespan
    for module in (_pages_account, _pages_chat, _pages_usage, _pages_models, _pages_admin, _metrics, _ws):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(ApiRateLimitMiddleware, web=web)
    app.add_middleware(HttpMetricsMiddleware, metrics=metrics)
    install_page_errors(app)
