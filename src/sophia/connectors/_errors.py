"""Typed connector failures an agent can read: what went wrong, at which service, and whether retrying helps."""

from __future__ import annotations

import json
from typing import Any

import httpx

from sophia.errors import SophiaError
from sophia.observability import redactor

__all__ = [
    "ConnectorAuthError",
    "ConnectorConflict",
    "ConnectorError",
    "ConnectorInvalid",
    "ConnectorNotConfigured",
    "ConnectorNotFound",
    "ConnectorRateLimited",
    "ConnectorUnavailable",
    "UnknownConnector",
    "error_from_response",
    "parse_retry_after",
]

_MAX_DETAIL = 300


class ConnectorError(SophiaError):
    """A call to an external service failed; `retryable` says whether trying again later may help."""

    code = "connector_error"
    http_status = 502
    default_retryable = False

    def __init__(
        self,
        message: str,
        *,
        service: str = "",
        status: int | None = None,
        retry_after: float | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.service = service
        self.status = status
        self.retry_after = retry_after
        self.retryable = self.default_retryable if retryable is None else retryable

    def to_record(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "service": self.service, "status": self.status}


class UnknownConnector(ConnectorError):
    code = "unknown_connector"
    http_status = 404


class ConnectorNotConfigured(ConnectorError):
    """A credential is missing or cannot be resolved: nothing was sent."""

    code = "connector_not_configured"
    http_status = 400


class ConnectorAuthError(ConnectorError):
    """The service refused the credentials (401, or 403 that is not a rate limit)."""

    code = "connector_auth"
    http_status = 502


class ConnectorNotFound(ConnectorError):
    code = "connector_not_found"
    http_status = 404


class ConnectorConflict(ConnectorError):
    """The target changed or already exists (409, 412): read it again before writing."""

    code = "connector_conflict"
    http_status = 409


class ConnectorInvalid(ConnectorError):
    """The service rejected the request's content (400, 422): the arguments need fixing."""

    code = "connector_invalid"
    http_status = 400


class ConnectorRateLimited(ConnectorError):
    code = "connector_rate_limited"
    http_status = 429
    default_retryable = True


class ConnectorUnavailable(ConnectorError):
    """5xx, a timeout, a network failure or an open circuit breaker."""

    code = "connector_unavailable"
    http_status = 503
    default_retryable = True


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a `Retry-After` header (a number of seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime
    from time import time

    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time())
    except (TypeError, ValueError):
        return None


def service_message(response: httpx.Response) -> str:
    """The service's own words about the failure, from the common JSON error fields; short and redacted."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        return redactor.redact(response.text[:_MAX_DETAIL].strip())
    return redactor.redact(_first_message(body)[:_MAX_DETAIL])


def _first_message(body: Any) -> str:
    if isinstance(body, dict):
        for key in ("message", "error_description", "error", "detail", "description", "title", "msg"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value
            if isinstance(value, dict):
                return _first_message(value)
        errors = body.get("errors")
        if isinstance(errors, list) and errors:
            return _first_message(errors[0])
    if isinstance(body, list) and body:
        return _first_message(body[0])
    if isinstance(body, str):
        return body
    return ""


def is_rate_limit(response: httpx.Response) -> bool:
    """429, or a 403 that says so (GitHub's primary limit at remaining 0, its secondary limit, Retry-After)."""
    if response.status_code == 429:
        return True
    if response.status_code != 403:
        return False
    headers = response.headers
    if "retry-after" in headers or headers.get("x-ratelimit-remaining") == "0":
        return True
    return "rate limit" in response.text[:2000].lower()


def error_from_response(service: str, response: httpx.Response, retry_after: float | None) -> ConnectorError:
    """The typed error for a failed response; the message names the service, the status and its words."""
    status = response.status_code
    said = service_message(response)
    detail = f": {said}" if said else ""
    where = redactor.redact(f"{response.request.method} {response.request.url.path}")
    if is_rate_limit(response):
        wait = f"; retry after {retry_after:.0f} s" if retry_after is not None else ""
        return ConnectorRateLimited(
            f"{service} rate limit reached ({status}) on {where}{wait}{detail}",
            service=service,
            status=status,
            retry_after=retry_after,
        )
    kind: type[ConnectorError]
    if status in (401, 403):
        kind, text = ConnectorAuthError, "refused the credentials"
    elif status in (404, 410):
        kind, text = ConnectorNotFound, "found nothing"
    elif status in (409, 412):
        kind, text = ConnectorConflict, "reports a conflict"
    elif status in (400, 405, 413, 415, 422):
        kind, text = ConnectorInvalid, "rejected the request"
    elif status == 408 or status >= 500:
        kind, text = ConnectorUnavailable, "is failing"
    else:
        kind, text = ConnectorError, "answered an unexpected status"
    return kind(
        f"{service} {text} ({status}) on {where}{detail}",
        service=service,
        status=status,
        retry_after=retry_after,
    )
