"""Prometheus metrics: HTTP requests and latency, gateway tokens and cost (from a ledger hook), breakers, health."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterator, Mapping
from typing import Any

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString
from starlette.responses import Response

from sophia.accounts import Role
from sophia.errors import AuthError, PermissionDenied, StorageError
from sophia.gateway import Gateway, RequestRecord
from sophia.runs import count_runs_by_status
from sophia.secrets import SecretResolver
from sophia.server._auth import authenticate
from sophia.server._schemas import errors
from sophia.server.web._guard import session_of
from sophia.server.web._state import web_state
from sophia.store import CounterStore

__all__ = ["WebMetrics", "router"]

_BREAKER_VALUE = {"closed": 0.0, "half_open": 1.0, "open": 2.0}
CLUSTER_GAUGES_LEASE = "metrics:cluster-gauges"
CLUSTER_GAUGES_LEASE_SECONDS = 120.0
"""Longer than any scrape interval: the holder keeps it while scraped; another replica takes over after it dies."""


class _GatewayCollector(Collector):
    """Read at scrape time, so breakers and health cost nothing per request."""

    def __init__(self) -> None:
        self.gateway: Gateway | None = None

    def collect(self) -> Iterator[Metric]:
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


class _RunsCollector(Collector):
    """Runs per status, counted by the /metrics route just before it renders (the collector itself does no I/O)."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "sophia_runs", "Durable runs per status (queued is the queue depth)", labels=["status"]
        )
        for status, count in self.counts.items():
            family.add_metric([status], float(count))
        yield family


class _Histogram:
    """Bucket counts and the sum of observations: `observe` is a bisect and two additions."""

    __slots__ = ("buckets", "sum")

    def __init__(self) -> None:
        self.buckets = [0] * (len(_BOUNDS) + 1)  # the last one is +Inf
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.buckets[bisect_left(_BOUNDS, value)] += 1
        self.sum += value

    def cumulative(self) -> list[tuple[str, float]]:
        running, out = 0, []
        for bound, count in zip((*map(floatToGoString, _BOUNDS), "+Inf"), self.buckets, strict=True):
            running += count
            out.append((bound, float(running)))
        return out


# prometheus_client's default latency buckets, in seconds.
_BOUNDS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)


class _Tallies(Collector):
    """Per-request metrics as plain numbers, turned into Prometheus families only when /metrics is scraped.

    prometheus_client's Counter and Histogram take a lock per update (seven updates per proxied completion); these
    are only updated from the event loop's thread, so plain additions are exact and cost a fraction of that.
    """

    def __init__(self) -> None:
        self.http_requests: dict[tuple[str, ...], int] = defaultdict(int)
        self.http_latency: dict[tuple[str, ...], _Histogram] = defaultdict(_Histogram)
        self.model_requests: dict[tuple[str, ...], int] = defaultdict(int)
        self.tokens: dict[tuple[str, ...], int] = defaultdict(int)
        self.cost: dict[tuple[str, ...], float] = defaultdict(float)
        self.model_latency: dict[tuple[str, ...], _Histogram] = defaultdict(_Histogram)

    def collect(self) -> Iterator[Metric]:
        yield _counter(
            "sophia_http_requests", "HTTP requests", ["method", "route", "status"], self.http_requests
        )
        yield _histogram(
            "sophia_http_request_duration_seconds",
            "HTTP request latency",
            ["method", "route"],
            self.http_latency,
        )
        yield _counter(
            "sophia_model_requests",
            "Model requests through the gateway",
            ["model", "status"],
            self.model_requests,
        )
        yield _counter("sophia_model_tokens", "Tokens", ["model", "direction"], self.tokens)
        yield _counter("sophia_model_cost_usd", "Cost in USD", ["model"], self.cost)
        yield _histogram(
            "sophia_model_request_duration_seconds", "Model request latency", ["model"], self.model_latency
        )


def _counter(name: str, doc: str, labels: list[str], values: Mapping[tuple[str, ...], float]) -> Metric:
    family = CounterMetricFamily(name, doc, labels=labels)
    for key, value in list(values.items()):
        family.add_metric(list(key), value)
    return family


def _histogram(
    name: str, doc: str, labels: list[str], values: Mapping[tuple[str, ...], _Histogram]
) -> Metric:
    family = HistogramMetricFamily(name, doc, labels=labels)
    for key, histogram in list(values.items()):
        family.add_metric(list(key), histogram.cumulative(), histogram.sum)
    return family


class WebMetrics:
    """One registry per app (not the global one), so several apps in one process never collide."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.tallies = _Tallies()
        self.registry.register(self.tallies)
        self._gateway = _GatewayCollector()
        self.registry.register(self._gateway)
        self.runs = _RunsCollector()
        self.registry.register(self.runs)
        self.replica = secrets.token_hex(8)

    def observe_http(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count and time one finished HTTP request; `RequestIdMiddleware` calls it for every request."""
        tallies = self.tallies
        tallies.http_requests[(method, route, str(status))] += 1
        tallies.http_latency[(method, route)].observe(seconds)

    def hook(self, gateway: Gateway) -> None:
        """Count every ledger record as it is queued: a few additions per model call, no I/O."""
        self._gateway.gateway = gateway
        ledger: Any = gateway.ledger
        record = ledger.record
        tallies = self.tallies

        def counted(entry: RequestRecord) -> None:
            model = entry.model or entry.requested_model
            tallies.model_requests[(model, entry.status)] += 1
            tallies.tokens[(model, "input")] += entry.input_tokens
            tallies.tokens[(model, "output")] += entry.output_tokens
            if entry.cost_usd > 0:
                tallies.cost[(model,)] += entry.cost_usd
            tallies.model_latency[(model,)].observe(entry.latency_ms / 1000)
            record(entry)

        ledger.record = counted


router = APIRouter(tags=["operations"])


async def _allowed(request: Request) -> None:
    web = web_state(request)
    ref = web.options.metrics_token
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if ref and scheme.lower() == "bearer" and token:
        # A central manager may be asked over the network (once per cache period): keep it off the event loop.
        expected = await asyncio.to_thread(SecretResolver.for_settings(web.services.settings).resolve, ref)
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


async def _holds_cluster_gauges(counters: CounterStore, replica: str) -> bool:
    try:
        return await counters.lease(CLUSTER_GAUGES_LEASE, replica, CLUSTER_GAUGES_LEASE_SECONDS)
    except Exception:  # noqa: BLE001 - Redis away: report them (counted twice) rather than not at all
        return True


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
    metrics: WebMetrics = request.app.state.web_metrics
    services = web_state(request).services
    try:
        # Cluster-wide gauges come from one replica at a time, so summing every replica's /metrics counts them once.
        if await _holds_cluster_gauges(services.counters, metrics.replica):
            metrics.runs.counts = await count_runs_by_status(services.database)
        else:
            metrics.runs.counts = {}
    except StorageError:
        pass  # the database is away: the last counts stay, /readyz says why
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
