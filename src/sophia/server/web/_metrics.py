"""Prometheus metrics: HTTP requests and latency, gateway tokens and cost (from a ledger hook), breakers, health."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sophia.accounts import Role
from sophia.errors import AuthError, PermissionDenied
from sophia.gateway import Gateway, RequestRecord
from sophia.secrets import SecretResolver
from sophia.server._auth import authenticate
from sophia.server._schemas import errors
from sophia.server.web._guard import session_of
from sophia.server.web._state import web_state

__all__ = ["HttpMetricsMiddleware", "WebMetrics", "router"]

_BREAKER_VALUE = {"closed": 0.0, "half_open": 1.0, "open": 2.0}


class _GatewayCollector(Collector):
    """Read at scrape time, so breakers and health cost nothing per request."""

    def __init__(self) -> None:
        self.gateway: Gateway | None = None

    def collect(self) -> Iterator[GaugeMetricFamily]:
        if self.gateway is None:
            return
        breaker = GaugeMetricFamily(
            "sophia_breaker_state",
            "Circuit breaker per deployment: 0 closed, 1 half-open, 2 open",
            labels=["model"],
        )
        latency = GaugeMetricFamily(
            "sophia_deployment_latency_ms", "Smoothed latency per deployment", labels=["model"]
        )
        errors = GaugeMetricFamily(
            "sophia_deployment_error_rate", "Smoothed error rate per deployment", labels=["model"]
        )
        states = self.gateway.breakers.states()
        for entry in self.gateway.catalog:
            health = self.gateway.health.get(entry.name)
            breaker.add_metric([entry.name], _BREAKER_VALUE.get(str(states.get(entry.name, "closed")), 0.0))
            errors.add_metric([entry.name], health.error_rate)
            if health.latency_ms is not None:
                latency.add_metric([entry.name], health.latency_ms)
        yield from (breaker, latency, errors)


class WebMetrics:
    """One registry per app (not the global one), so several apps in one process never collide."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.http_requests = Counter(
            "sophia_http_requests", "HTTP requests", ["method", "route", "status"], registry=self.registry
        )
        self.http_latency = Histogram(
            "sophia_http_request_duration_seconds",
            "HTTP request latency",
            ["method", "route"],
            registry=self.registry,
        )
        self.model_requests = Counter(
            "sophia_model_requests",
            "Model requests through the gateway",
            ["model", "status"],
            registry=self.registry,
        )
        self.tokens = Counter("sophia_model_tokens", "Tokens", ["model", "direction"], registry=self.registry)
        self.cost = Counter("sophia_model_cost_usd", "Cost in USD", ["model"], registry=self.registry)
        self.model_latency = Histogram(
            "sophia_model_request_duration_seconds",
            "Model request latency",
            ["model"],
            registry=self.registry,
        )
        self._gateway = _GatewayCollector()
        self.registry.register(self._gateway)
        self._http_children: dict[tuple[str, str, str], tuple[Any, Any]] = {}

    def hook(self, gateway: Gateway) -> None:
        """Count every ledger record as it is queued: a few increments per model call, no I/O."""
        self._gateway.gateway = gateway
        ledger: Any = gateway.ledger
        record = ledger.record
        children: dict[tuple[str, str], tuple[Any, Any, Any, Any, Any]] = {}

        def counted(entry: RequestRecord) -> None:
            model = entry.model or entry.requested_model
            found = children.get((model, entry.status))
            if found is None:
                found = children[(model, entry.status)] = self._model_children(model, entry.status)
            requests, tokens_in, tokens_out, cost, latency = found
            requests.inc()
            tokens_in.inc(entry.input_tokens)
            tokens_out.inc(entry.output_tokens)
            if entry.cost_usd > 0:
                cost.inc(entry.cost_usd)
            latency.observe(entry.latency_ms / 1000)
            record(entry)

        ledger.record = counted

    def _model_children(self, model: str, status: str) -> tuple[Any, Any, Any, Any, Any]:
        """`labels()` validates and locks on every call; the children it returns are stable, so look them up once."""
        return (
            self.model_requests.labels(model, status),
            self.tokens.labels(model, "input"),
            self.tokens.labels(model, "output"),
            self.cost.labels(model),
            self.model_latency.labels(model),
        )

    def http_children(self, method: str, route: str, status: str) -> tuple[Any, Any]:
        """The request counter and latency histogram for one (method, route, status), cached after the first."""
        key = (method, route, status)
        found = self._http_children.get(key)
        if found is None:
            found = self._http_children[key] = (
                self.http_requests.labels(method, route, status),
                self.http_latency.labels(method, route),
            )
        return found


class HttpMetricsMiddleware:
    """Raw ASGI: counts and times every request, labelled by route template to keep cardinality bounded."""

    def __init__(self, app: ASGIApp, metrics: WebMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def recording(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            count, latency = self.metrics.http_children(scope["method"], route, str(status))
            count.inc()
            latency.observe(time.perf_counter() - started)


router = APIRouter(tags=["operations"])


async def _allowed(request: Request) -> None:
    web = web_state(request)
    ref = web.options.metrics_token
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if ref and scheme.lower() == "bearer" and token:
        expected = SecretResolver(web.services.settings.home, web.services.settings.secrets.key_file).resolve(
            ref
        )
        if hmac.compare_digest(
            hashlib.sha256(token.encode()).digest(), hashlib.sha256(expected.encode()).digest()
        ):
            return
    session = await session_of(request)
    if session is not None and session.role is Role.ADMIN:
        return
    if session is None and not header and not request.headers.get("x-api-key"):
        raise AuthError(
            "metrics need an admin API key or the metrics token: send 'Authorization: Bearer <key>'"
        )
    principal = await authenticate(request)
    if principal.role is not Role.ADMIN:
        raise PermissionDenied(
            "metrics are for admins; use an admin's API key or the configured metrics token"
        )


@router.get(
    "/metrics",
    summary="Prometheus metrics (an admin API key or the metrics token)",
    response_class=Response,
    responses={
        200: {"description": "Prometheus text format", "content": {CONTENT_TYPE_LATEST.split(";")[0]: {}}},
        **errors(401, 403, 429),
    },
)
async def metrics(request: Request) -> Response:
    await _allowed(request)
    registry = request.app.state.web_metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
