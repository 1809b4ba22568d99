"""Signature checks as each service documents them: any change to body, timestamp or signature is refused."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sophia.config import EventTrigger
from sophia.connectors import (
    WebhookRefused,
    github_signature,
    slack_signature,
    trigger_for,
    verify_github,
    verify_slack,
    verify_token,
)

SECRET = "It's a Secret to Everybody"
NOW = 1_700_000_000.0


def test_github_signature_matches_the_documented_example() -> None:
    # GitHub's docs: secret "It's a Secret to Everybody", payload "Hello, World!"
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert github_signature(SECRET, b"Hello, World!") == expected
    verify_github(SECRET, b"Hello, World!", expected)


@given(body=st.binary(max_size=300), other=st.binary(max_size=300))
def test_github_refuses_a_changed_body(body: bytes, other: bytes) -> None:
    signature = github_signature(SECRET, body)
    if other == body:
        verify_github(SECRET, other, signature)
        return
    with pytest.raises(WebhookRefused):
        verify_github(SECRET, other, signature)


@given(
    body=st.binary(max_size=200),
    position=st.integers(min_value=0, max_value=70),
    char=st.sampled_from("0123456789abcdef"),
)
def test_github_refuses_any_changed_signature_character(body: bytes, position: int, char: str) -> None:
    signature = github_signature(SECRET, body)
    index = 7 + position % 64
    changed = signature[:index] + char + signature[index + 1 :]
    if changed == signature:
        return
    with pytest.raises(WebhookRefused):
        verify_github(SECRET, body, changed)


def test_github_refuses_a_missing_signature_or_another_secret() -> None:
    with pytest.raises(WebhookRefused, match="no X-Hub-Signature-256"):
        verify_github(SECRET, b"{}", None)
    with pytest.raises(WebhookRefused):
        verify_github(SECRET, b"{}", github_signature("another secret", b"{}"))


def _slack(body: bytes, timestamp: str) -> str:
    return (
        "v0="
        + hmac.new(SECRET.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    )


@given(
    body=st.binary(max_size=200),
    other_body=st.binary(max_size=200),
    skew=st.integers(min_value=-299, max_value=299),
    other_ts=st.integers(min_value=NOW - 299, max_value=NOW + 299),
)
def test_slack_accepts_only_the_signed_body_and_timestamp_within_five_minutes(
    body: bytes, other_body: bytes, skew: int, other_ts: int
) -> None:
    timestamp = str(int(NOW) + skew)
    signature = slack_signature(SECRET, timestamp, body)
    assert signature == _slack(body, timestamp)
    verify_slack(SECRET, body, timestamp, signature, now=lambda: NOW)
    if other_body != body:
        with pytest.raises(WebhookRefused):
            verify_slack(SECRET, other_body, timestamp, signature, now=lambda: NOW)
    if str(other_ts) != timestamp:
        with pytest.raises(WebhookRefused):
            verify_slack(SECRET, body, str(other_ts), signature, now=lambda: NOW)


@given(
    age=st.one_of(
        st.integers(min_value=301, max_value=10**7), st.integers(min_value=-(10**7), max_value=-301)
    )
)
def test_slack_refuses_a_replay_outside_the_window_even_when_signed(age: int) -> None:
    timestamp = str(int(NOW) - age)
    signature = slack_signature(SECRET, timestamp, b"payload")
    with pytest.raises(WebhookRefused, match="five minutes"):
        verify_slack(SECRET, b"payload", timestamp, signature, now=lambda: NOW)


@pytest.mark.parametrize(("timestamp", "signature"), [(None, "v0=00"), ("123", None), ("soon", "v0=00")])
def test_slack_refuses_missing_or_malformed_headers(timestamp: str | None, signature: str | None) -> None:
    with pytest.raises(WebhookRefused):
        verify_slack(SECRET, b"x", timestamp, signature, now=lambda: NOW)


@given(given_token=st.text(max_size=64))
def test_a_shared_token_must_match_exactly(given_token: str) -> None:
    expected = "telegram-secret_TOKEN-1"
    if given_token == expected:
        verify_token(expected, given_token, "X-Telegram-Bot-Api-Secret-Token")
    else:
        with pytest.raises(WebhookRefused):
            verify_token(expected, given_token, "X-Telegram-Bot-Api-Secret-Token")


def test_the_most_specific_trigger_wins() -> None:
    def trigger(prompt: str) -> EventTrigger:
        return EventTrigger(prompt=prompt)

    triggers = {
        "pull_request.opened": trigger("exact"),
        "pull_request.*": trigger("family"),
        "push": trigger("push"),
        "*": trigger("any"),
    }
    assert trigger_for(triggers, "pull_request.opened") == trigger("exact")
    assert trigger_for(triggers, "pull_request.closed") == trigger("family")
    assert trigger_for(triggers, "push") == trigger("push")
    assert trigger_for(triggers, "issues.opened") == trigger("any")
    assert trigger_for({"push": trigger("p")}, "issues.opened") is None
