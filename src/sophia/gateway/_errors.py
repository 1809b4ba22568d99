"""Typed provider failures, so routing can decide what to retry without parsing messages."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Iterable, Mapping
from typing import Any, Literal

import orjson

from sophia.errors import SophiaError
from sophia.observability import redactor

TimeoutPhase = Literal["connect", "first_token", "between_chunks", "total", "upstream"]
_MAX_DETAIL = 300


class ProviderError(SophiaError):
    """A model provider failed; `retryable` says whether trying again (here or elsewhere) may help."""

    code = "provider_error"
    http_status = 502
    default_retryable = False

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status: int | None = None,
        retryable: bool | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(redactor.redact(message))
        self.provider = provider
        self.status = status
        self.retryable = self.default_retryable if retryable is None else retryable
        self.retry_after = retry_after


class ProviderRateLimited(ProviderError):
    code = "provider_rate_limited"
    http_status = 429
    default_retryable = True


class ProviderUnavailable(ProviderError):
    code = "provider_unavailable"
    http_status = 503
    default_retryable = True


class ProviderTimeout(ProviderError):
    """The provider did not answer in time; `phase` says which deadline passed."""

    code = "provider_timeout"
    http_status = 504
    default_retryable = True

    def __init__(
        self, message: str, *, provider: str, phase: TimeoutPhase, status: int | None = None
    ) -> None:
        super().__init__(message, provider=provider, status=status)
        self.phase: TimeoutPhase = phase


class ProviderBadRequest(ProviderError):
    code = "provider_bad_request"
    http_status = 400


class RequestNotTranslatable(ProviderBadRequest):
    """The request uses a feature the provider's wire format cannot express."""

    code = "request_not_translatable"


class ProviderAuthError(ProviderError):
    code = "provider_auth_error"
    http_status = 502


class ProviderProtocolError(ProviderError):
    code = "provider_protocol_error"
    http_status = 502
    default_retryable = True


class StreamInterrupted(ProviderError):
    """A stream failed after chunks were already delivered: the caller has a partial answer."""

    code = "stream_interrupted"
    http_status = 502
    default_retryable = True


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from `retry-after-ms`, or `Retry-After` as seconds or an HTTP date."""
    lowered = {k.lower(): v for k, v in headers.items()}
    millis = lowered.get("retry-after-ms")
    if millis is not None:
        try:
            return max(0.0, float(millis) / 1000.0)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def upstream_detail(body: bytes | str | Mapping[str, Any], secrets: Iterable[str] = ()) -> str:
    """The upstream's own error message (OpenAI, Anthropic or plain shapes), shortened and scrubbed."""
    data: Any = body
    if isinstance(body, (bytes, str)):
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            data = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    detail = _find_message(data)
    for secret in secrets:
        if secret:
            detail = detail.replace(secret, "[REDACTED]")
    detail = redactor.redact(" ".join(detail.split()))
    return detail[:_MAX_DETAIL] + ("…" if len(detail) > _MAX_DETAIL else "")


def _find_message(data: Any) -> str:
    if isinstance(data, str):
        return data
    if isinstance(data, list) and data:  # Gemini's OpenAI-compatible errors: `[{"error": {...}}]`
        return _find_message(data[0])
    if isinstance(data, Mapping):
        for key in ("error", "message", "detail", "msg"):  # "msg": FastAPI-style details (Mistral's 422)
            if key in data:
                return _find_message(data[key])
        return ""
    return str(data) if data is not None else ""


def error_from_status(
    provider: str,
    status: int,
    *,
    headers: Mapping[str, str] | None = None,
    body: bytes | str | Mapping[str, Any] = b"",
    secrets: Iterable[str] = (),
) -> ProviderError:
    """Map an upstream HTTP error status to the typed error routing acts on."""
    detail = upstream_detail(body, secrets)
    suffix = f": {detail}" if detail else "."
    retry_after = parse_retry_after(headers or {})
    if status in (401, 403):
        msg = f"Provider '{provider}' rejected the credentials (HTTP {status}); check its API key{suffix}"
        return ProviderAuthError(msg, provider=provider, status=status)
    if status == 429:
        msg = f"Provider '{provider}' is rate limiting requests (HTTP 429); slow down or add capacity{suffix}"
        return ProviderRateLimited(msg, provider=provider, status=status, retry_after=retry_after)
    if status == 408:
        return ProviderTimeout(
            f"Provider '{provider}' timed out the request (HTTP 408){suffix}",
            provider=provider,
            phase="upstream",
            status=status,
        )
    if status == 409 or status >= 500:
        msg = f"Provider '{provider}' is unavailable (HTTP {status}); try again or fall back{suffix}"
        return ProviderUnavailable(msg, provider=provider, status=status, retry_after=retry_after)
    if 400 <= status < 500:
        msg = f"Provider '{provider}' refused the request (HTTP {status}); fix the request{suffix}"
        return ProviderBadRequest(msg, provider=provider, status=status)
    msg = f"Provider '{provider}' answered with unexpected HTTP {status}{suffix}"
    return ProviderProtocolError(msg, provider=provider, status=status)


_ANTHROPIC_ERROR_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "overloaded_error": 529,
}


def error_from_stream_event(provider: str, payload: Mapping[str, Any]) -> ProviderError:
    """Turn an `error` event sent inside a stream (Anthropic or OpenAI-style) into a typed error."""
    error = payload.get("error")
    kind = error.get("type") if isinstance(error, Mapping) else None
    code = error.get("code") if isinstance(error, Mapping) else None
    status = _ANTHROPIC_ERROR_STATUS.get(str(kind))
    if status is None and isinstance(code, int):
        status = code
    if status is None:
        detail = upstream_detail(payload)
        return ProviderUnavailable(
            f"Provider '{provider}' reported an error in the stream: {detail or kind or 'unknown'}",
            provider=provider,
        )
    return error_from_status(provider, status, body=payload)


__all__ = [
    "ProviderAuthError",
    "ProviderBadRequest",
    "ProviderError",
    "ProviderProtocolError",
    "ProviderRateLimited",
    "ProviderTimeout",
    "ProviderUnavailable",
    "RequestNotTranslatable",
    "StreamInterrupted",
    "TimeoutPhase",
    "error_from_status",
    "error_from_stream_event",
    "parse_retry_after",
    "upstream_detail",
]
