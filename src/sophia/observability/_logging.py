"""Structured logging: one JSON object a line, with the request id, and every secret redacted."""

from __future__ import annotations

import contextvars
import logging
import sys
import time
from typing import Any

import orjson

from sophia.observability._redact import RedactingFilter, redactor

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("sophia_request_id", default=None)

_STANDARD_ATTRS = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys() | {"message", "asctime", "taskName"}
)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exc"] = record.exc_text
        line = orjson.dumps(entry, default=str).decode()
        return redactor.redact(line)


class ConsoleFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        request_id = request_id_var.get()
        prefix = f"[{request_id}] " if request_id else ""
        return redactor.redact(f"{record.levelname:<7} {record.name}: {prefix}{super().format(record)}")


def configure_logging(level: str = "INFO", fmt: str = "json", stream: Any = None) -> None:
    """Install Sophia's handler on the root logger (idempotent)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else ConsoleFormatter("%(message)s"))
    handler.addFilter(RedactingFilter())
    handler.set_name("sophia")
    root = logging.getLogger()
    for existing in list(root.handlers):
        if existing.get_name() == "sophia":
            root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("uvicorn.access",):
        logging.getLogger(noisy).setLevel(logging.WARNING)
