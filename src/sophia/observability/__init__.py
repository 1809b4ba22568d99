"""Logging, redaction, metrics and tracing: the bottom of the core layer."""

from sophia.observability._logging import ConsoleFormatter, JsonFormatter, configure_logging, request_id_var
from sophia.observability._redact import REDACTED, RedactingFilter, Redactor, redactor
from sophia.observability._tracing import GenAiTracer, TracingSettings, open_tracing, tracing_settings

__all__ = [
    "REDACTED",
    "ConsoleFormatter",
    "GenAiTracer",
    "JsonFormatter",
    "RedactingFilter",
    "Redactor",
    "TracingSettings",
    "configure_logging",
    "open_tracing",
    "redactor",
    "request_id_var",
    "tracing_settings",
]
