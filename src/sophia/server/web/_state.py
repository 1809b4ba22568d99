"""The dashboard's long-lived objects, bound to the app's `Services` when the app starts."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from starlette.requests import HTTPConnection

from sophia.accounts import LoginThrottle
from sophia.conversations import ConversationService
from sophia.gateway import BudgetBook, UsageReports
from sophia.server._services import Services
from sophia.server.web._chat import ChatRunner
from sophia.server.web._options import WebOptions
from sophia.server.web._sessions import SessionStore

__all__ = ["WebState", "web_state"]


class WebState:
    def __init__(self, options: WebOptions) -> None:
        self.options = options
        self._services: Services | None = None
        self.has_users = False  # once true it stays true: users are never all deleted while running
        self.setup_lock = asyncio.Lock()
        self.memory_lock = asyncio.Lock()
        self.owned: list[Any] = []  # services opened lazily (memory); closed in aclose

    def bind(self, services: Services) -> None:
        self._services = services
        self.limiter = services.limiter  # shared with the API and MCP, on the same counters
        self.throttle = LoginThrottle(
            services.counters,
            self.options.login_user_failures,
            self.options.login_ip_failures,
            self.options.lockout_seconds,
        )
        self.sessions = SessionStore(services.database, timedelta(hours=self.options.session_hours))
        self.conversations = ConversationService(services.database)
        self.chat = ChatRunner(services.gateway, self.conversations, services.toolkit())
        self.usage = UsageReports(services.database)
        self.budgets = BudgetBook(services.gateway.budgets, services.accounts)

    @property
    def bound(self) -> bool:
        return self._services is not None

    @property
    def services(self) -> Services:
        if self._services is None:
            raise RuntimeError(
                "the web dashboard is used before the app started; call install_web(app) first"
            )
        return self._services

    async def aclose(self) -> None:
        self._services = None  # the counters belong to the services, which close them
        while self.owned:
            await self.owned.pop().close()


def web_state(connection: HTTPConnection) -> WebState:
    state: WebState = connection.app.state.web
    return state
