"""OpenTelemetry traces with the GenAI semantic conventions: one span per model call, off unless configured.

Spans are made from the gateway's ledger records (a hook on `record`), so the gateway needs no tracing code
and every model call - from people, agents or memory - is traced the same way. No prompt or answer text
goes into a span: only models, tokens, cost, latency and status.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.trace import SpanKind, Status, StatusCode

from sophia.errors import ConfigError
from sophia.observability._tracing_settings import TracingSettings, tracing_settings

__all__ = ["GenAiTracer", "ModelCallRecord", "TracingSettings", "open_tracing", "tracing_settings"]

log = logging.getLogger("sophia.tracing")


class ModelCallRecord(Protocol):
    """What a span needs from a gateway ledger record (`sophia.gateway.RequestRecord` has all of it)."""

    id: str
    endpoint: str
    requested_model: str
    model: str | None
    provider: str | None
    task: str | None
    input_tokens: int
    output_tokens: int
    cost_usd: float
    latency_ms: float
    status: str
    error_code: str | None
    at: datetime


def _operation(endpoint: str) -> str:
    return "embeddings" if "embedding" in endpoint else "chat"


def _attributes(entry: ModelCallRecord) -> dict[str, Any]:
    provider = entry.provider or "unknown"
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": _operation(entry.endpoint),
        "gen_ai.system": provider,
        "gen_ai.provider.name": provider,
        "gen_ai.request.model": entry.requested_model,
        "gen_ai.usage.input_tokens": int(entry.input_tokens),
        "gen_ai.usage.output_tokens": int(entry.output_tokens),
        "sophia.cost_usd": max(0.0, float(entry.cost_usd)),
        "sophia.request_id": entry.id,
        "sophia.status": entry.status,
    }
    if entry.model:
        attributes["gen_ai.response.model"] = entry.model
    if entry.task:
        attributes["sophia.task"] = entry.task
    if entry.error_code:
        attributes["error.type"] = entry.error_code
    return attributes


class GenAiTracer:
    """Turns ledger records into finished spans; its own provider, so it never fights a global one."""

    def __init__(self, provider: TracerProvider) -> None:
        self.provider = provider
        self._tracer = provider.get_tracer("sophia.gateway")

    def record(self, entry: ModelCallRecord) -> None:
        """One CLIENT span covering the call: it ends when the record is written and lasts its latency."""
        end_ns = time.time_ns()
        start_ns = end_ns - int(max(0.0, entry.latency_ms) * 1_000_000)
        name = f"{_operation(entry.endpoint)} {entry.requested_model}"
        span = self._tracer.start_span(
            name, kind=SpanKind.CLIENT, attributes=_attributes(entry), start_time=start_ns
        )
        if entry.status != "ok":
            span.set_status(Status(StatusCode.ERROR, entry.error_code or entry.status))
        span.end(end_time=end_ns)

    def hook(self, ledger: Any) -> None:
        """Wrap `ledger.record` so each record also becomes a span; a tracing failure never loses the record."""
        record: Callable[[Any], None] = ledger.record

        def traced(entry: Any) -> None:
            try:
                self.record(entry)
            except Exception:  # tracing is best effort; the ledger write must still happen
                log.warning("tracing: could not record a span for a model call", exc_info=True)
            record(entry)

        ledger.record = traced

    def shutdown(self) -> None:
        """Flush queued spans and stop the exporter (the batch processor's thread ends here)."""
        self.provider.shutdown()


def _exporter(settings: TracingSettings) -> SpanExporter:
    if settings.exporter == "console":
        return ConsoleSpanExporter()
    if not settings.endpoint:
        raise ConfigError(
            "tracing.exporter is 'otlp' but tracing.endpoint is empty; "
            "set it to your collector, e.g. http://127.0.0.1:4318/v1/traces"
        )
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter(endpoint=settings.endpoint)


def open_tracing(settings: TracingSettings, *, exporter: SpanExporter | None = None) -> GenAiTracer | None:
    """A tracer per the settings, or None when tracing is off; `exporter` (tests) is used synchronously."""
    if exporter is None and settings.exporter == "none":
        return None
    provider = TracerProvider(resource=Resource.create({"service.name": settings.service_name}))
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        provider.add_span_processor(BatchSpanProcessor(_exporter(settings)))  # exports off the event loop
    return GenAiTracer(provider)
