"""A process-wide set of secret values that must never leave the process in clear."""

from __future__ import annotations

import logging
import threading

REDACTED = "[REDACTED]"
_MIN_SECRET_LENGTH = 6


class Redactor:
    """Replaces every registered secret value in text. Thread-safe; values are kept only in memory."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._ordered: tuple[str, ...] = ()
        self._lock = threading.Lock()

    def add(self, value: str) -> None:
        """Register a resolved secret; short values are ignored because they would mangle normal text."""
        if len(value) < _MIN_SECRET_LENGTH:
            return
        with self._lock:
            if value in self._values:
                return
            self._values.add(value)
            self._ordered = tuple(sorted(self._values, key=len, reverse=True))

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self._ordered = ()

    def redact(self, text: str) -> str:
        for value in self._ordered:
            if value in text:
                text = text.replace(value, REDACTED)
        return text

    def __bool__(self) -> bool:
        return bool(self._ordered)


redactor = Redactor()
"""The one redactor of the process: `sophia.secrets` registers every value it resolves."""


class RedactingFilter(logging.Filter):
    """Redacts secrets from the message, its arguments, extra fields and exception text of a record."""

    def __init__(self, source: Redactor | None = None) -> None:
        super().__init__()
        self._redactor = source or redactor

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._redactor:
            return True
        record.msg = self._redactor.redact(record.getMessage())
        record.args = None
        for key, value in list(record.__dict__.items()):
            if isinstance(value, str) and key not in ("msg", "name", "levelname", "pathname", "filename"):
                record.__dict__[key] = self._redactor.redact(value)
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = self._redactor.redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True
