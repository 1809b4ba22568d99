"""Dry runs and idempotency keys: what the action would send, and a stable key for a write inside a run."""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from sophia.observability import redactor

__all__ = ["CallScope", "DryRunStop", "RequestPreview", "call_scope", "current_call", "preview_of"]

_SECRET_HEADER = re.compile(r"auth|token|key|secret|cookie|signature|password", re.IGNORECASE)
_SECRET_FIELD = re.compile(
    r"^(password|passwd|secret|token|api_?key|private_key|client_secret)$|_(token|secret|password)$",
    re.IGNORECASE,
)
_REDACTED = "[redacted]"


@dataclass(frozen=True, slots=True)
class RequestPreview:
    """The request an action would send, with every credential redacted."""

    method: str
    url: str
    headers: dict[str, str]
    body: Any

    def to_record(self) -> dict[str, Any]:
        return {"method": self.method, "url": self.url, "headers": self.headers, "body": self.body}


class DryRunStop(Exception):
    """Raised at the first request that would change something, carrying it; nothing was sent."""

    def __init__(self, preview: RequestPreview) -> None:
        super().__init__(f"dry run: {preview.method} {preview.url}")
        self.preview = preview


@dataclass(frozen=True, slots=True)
class CallScope:
    """The action call in progress: whether it is a dry run, and its idempotency key."""

    dry_run: bool
    idempotency_key: str


_current: contextvars.ContextVar[CallScope | None] = contextvars.ContextVar(
    "sophia_connector_call", default=None
)


def current_call() -> CallScope | None:
    return _current.get()


def _key(run_id: str | None, call_id: str | None, tool: str, arguments: dict[str, Any]) -> str:
    """Stable for the same call of the same run (so a resumed run re-sends the same key); unique otherwise."""
    import uuid

    if run_id is None and call_id is None:
        return uuid.uuid4().hex
    canonical = json.dumps(arguments, sort_keys=True, default=str, separators=(",", ":"))
    text = f"{run_id}\x00{call_id}\x00{tool}\x00{canonical}"
    return hashlib.sha256(text.encode()).hexdigest()[:40]


@contextlib.contextmanager
def call_scope(
    *, dry_run: bool, tool: str, arguments: dict[str, Any], run_id: str | None, call_id: str | None = None
) -> Iterator[CallScope]:
    scope = CallScope(dry_run, _key(run_id, call_id, tool, arguments))
    token = _current.set(scope)
    try:
        yield scope
    finally:
        _current.reset(token)


def preview_of(request: httpx.Request) -> RequestPreview:
    headers = {
        name: (_REDACTED if _SECRET_HEADER.search(name) else redactor.redact(value))
        for name, value in request.headers.items()
        if name.lower() not in ("content-length", "host", "accept-encoding", "connection")
    }
    raw = request.content
    body: Any = None
    if raw:
        text = raw.decode("utf-8", errors="replace")
        try:
            body = json.loads(text)
        except json.JSONDecodeError:
            body = text
    return RequestPreview(request.method, redactor.redact(str(request.url)), headers, _redact(body))


def _redact(value: Any) -> Any:
    if isinstance(value, str):
        return redactor.redact(value)
    if isinstance(value, dict):
        return {k: _REDACTED if _SECRET_FIELD.search(str(k)) else _redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v) for v in value]
    return value
