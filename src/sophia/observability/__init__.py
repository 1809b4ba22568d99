"""Logging, redaction, metrics and tracing: the bottom of the core layer.

The tracer itself is the submodule `sophia.observability.tracing`, imported only where spans are made: the
OpenTelemetry SDK costs ~65 ms of start-up that every CLI command would otherwise pay.
"""

from sophia.observability._logging import ConsoleFormatter, JsonFormatter, configure_logging, request_id_var
from sophia.observability._redact import REDACTED, RedactingFilter, Redactor, redactor
from sophia.observability._tracing_settings import TracingSettings, tracing_settings

__all__ = [
    "REDACTED",
    "ConsoleFormatter",
    "JsonFormatter",
    "RedactingFilter",
    "Redactor",
    "TracingSettings",
    "configure_logging",
    "redactor",
    "request_id_var",
    "tracing_settings",
]
