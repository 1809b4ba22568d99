"""OpenTelemetry: a chat request through the dashboard yields one GenAI span with model, tokens and cost."""

from __future__ import annotations

from pathlib import Path

import pytest
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from sophia.accounts import Role
from sophia.errors import ConfigError
from sophia.gateway import RequestRecord
from sophia.observability.tracing import TracingSettings, open_tracing, tracing_settings
from sophia.server.web import WebOptions
from tests.web.conftest import PASSWORD, build_stack
from tests.web.test_web_routes import _start_chat


async def test_a_chat_request_produces_a_genai_span_with_model_tokens_and_cost(
    _isolated_sophia_home: Path, _sqlite_template: Path
) -> None:
    spans = InMemorySpanExporter()
    stack, close = await build_stack(_isolated_sophia_home, _sqlite_template, WebOptions())
    stack.app.state.tracer = open_tracing(TracingSettings(), exporter=spans)
    try:
        async with stack.app.router.lifespan_context(stack.app):
            await stack.services.accounts.create_user("mia", Role.MEMBER, None, PASSWORD)
            client, csrf = await stack.signed_in("mia")
            async with client:
                cid, mid = await _start_chat(client, csrf, "a secret plan: tell me a joke")
                await client.get(f"/chat/{cid}/messages/{mid}/stream")
    finally:
        await close()
    (span,) = spans.get_finished_spans()
    attributes = dict(span.attributes or {})
    assert span.name == "chat local" and span.kind is SpanKind.CLIENT
    assert attributes["gen_ai.request.model"] == "local"
    assert attributes["gen_ai.response.model"] == "local"
    assert attributes["gen_ai.system"] == "local" and attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.usage.input_tokens"] > 0 and attributes["gen_ai.usage.output_tokens"] > 0
    assert attributes["sophia.cost_usd"] == 0.0  # the local model is free
    assert span.status.status_code is StatusCode.UNSET
    assert not any("secret plan" in str(value) for value in attributes.values())  # no prompt text in traces


def _record(**changes: object) -> RequestRecord:
    fields: dict[str, object] = dict(
        id="req_1",
        endpoint="chat.completions",
        requested_model="auto",
        api_key_id=None,
        user_id="1",
        stream=False,
    )
    return RequestRecord(**(fields | changes))  # type: ignore[arg-type]


def test_a_failed_call_is_an_error_span_lasting_its_latency() -> None:
    spans = InMemorySpanExporter()
    tracer = open_tracing(TracingSettings(), exporter=spans)
    assert tracer is not None
    tracer.record(_record(status="error", error_code="provider_unavailable", latency_ms=250.0, cost_usd=-1.0))
    (span,) = spans.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert dict(span.attributes or {})["error.type"] == "provider_unavailable"
    assert dict(span.attributes or {})["sophia.cost_usd"] == 0.0
    assert span.end_time is not None and span.start_time is not None
    assert span.end_time - span.start_time == 250_000_000


def test_tracing_is_off_by_default_and_the_exporter_follows_the_settings() -> None:
    assert tracing_settings(object()).exporter == "none"
    assert open_tracing(TracingSettings()) is None
    console = open_tracing(TracingSettings(exporter="console"))
    assert console is not None
    console.shutdown()
    otlp = open_tracing(TracingSettings(exporter="otlp", endpoint="http://127.0.0.1:4318/v1/traces"))
    assert otlp is not None
    processors = otlp.provider._active_span_processor._span_processors  # noqa: SLF001
    assert isinstance(processors[0], BatchSpanProcessor)
    otlp.shutdown()  # nothing was recorded, so nothing is sent
    with pytest.raises(ConfigError, match="tracing.endpoint"):
        open_tracing(TracingSettings(exporter="otlp"))
