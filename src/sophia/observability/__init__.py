"""Logging, redaction, metrics and tracing: the bottom of the core layer."""

from sophia.observability._logging import ConsoleFormatter, JsonFormatter, configure_logging, request_id_var
from sophia.observability._redact import REDACTED, RedactingFilter, Redactor, redactor

__all__ = [
    "REDACTED",
    "ConsoleFormatter",
    "JsonFormatter",
    "RedactingFilter",
    "Redactor",
    "configure_logging",
    "redactor",
    "request_id_var",
]
