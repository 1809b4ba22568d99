"""Status mapping, Retry-After parsing and secret scrubbing of provider errors."""

from __future__ import annotations

import email.utils
import time

import pytest

from sophia.gateway._errors import (
    ProviderBadRequest,
    ProviderError,
    ProviderRateLimited,
    error_from_status,
    parse_retry_after,
    upstream_detail,
)
from sophia.observability import redactor


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"retry-after": "0.5"}, 0.5),
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after": "-3"}, 0.0),
        ({"retry-after": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_after_reads_seconds_and_milliseconds(headers: dict[str, str], expected: float | None) -> None:
    assert parse_retry_after(headers) == expected


def test_retry_after_reads_an_http_date() -> None:
    when = email.utils.formatdate(time.time() + 120, usegmt=True)
    seconds = parse_retry_after({"Retry-After": when})
    assert seconds is not None and 100 < seconds <= 120


def test_past_http_date_means_retry_now() -> None:
    assert parse_retry_after({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0


def test_error_detail_comes_from_openai_anthropic_or_plain_bodies() -> None:
    assert upstream_detail(b'{"error": {"message": "bad model", "type": "x"}}') == "bad model"
    assert upstream_detail(b'{"type": "error", "error": {"type": "x", "message": "too long"}}') == "too long"
    assert upstream_detail(b'{"detail": "nope"}') == "nope"
    assert upstream_detail(b"upstream exploded") == "upstream exploded"
    assert len(upstream_detail(b"x" * 5000)) <= 301


def test_rate_limited_error_carries_retry_after_and_is_retryable() -> None:
    error = error_from_status("groq", 429, headers={"Retry-After": "3"})
    assert isinstance(error, ProviderRateLimited) and error.retry_after == 3.0 and error.retryable


def test_registered_secrets_never_appear_in_error_messages() -> None:
    secret = "gsk_live_q8A1ZxY0RegisteredSecret"
    redactor.add(secret)  # left registered: clearing the process-wide redactor would affect other tests
    error = ProviderError(f"upstream said {secret}", provider="groq")
    assert secret not in str(error)
    mapped = error_from_status("groq", 400, body=f'{{"error": "bad key {secret}"}}')
    assert isinstance(mapped, ProviderBadRequest) and secret not in str(mapped)


def test_explicit_secrets_are_scrubbed_even_when_not_registered() -> None:
    detail = upstream_detail(
        b'{"error": {"message": "key sk-abc123456789 is wrong"}}', secrets=("sk-abc123456789",)
    )
    assert "sk-abc123456789" not in detail
