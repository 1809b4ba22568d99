"""Inbound signature checks, each as its service documents it; any change to body, time or signature fails."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable

from sophia.errors import SophiaError

__all__ = [
    "SLACK_REPLAY_WINDOW",
    "WebhookRefused",
    "github_signature",
    "slack_signature",
    "verify_github",
    "verify_slack",
    "verify_token",
]

SLACK_REPLAY_WINDOW = 300.0
"""Slack's documented window: a request older (or newer) than five minutes is refused as a replay."""


class WebhookRefused(SophiaError):
    """The request did not prove it came from the service; nothing of it was used."""

    code = "webhook_refused"
    http_status = 401


def github_signature(secret: str, body: bytes) -> str:
    """`X-Hub-Signature-256`: `sha256=` + hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_github(secret: str, body: bytes, signature: str | None) -> None:
    if not signature:
        raise WebhookRefused("the request has no X-Hub-Signature-256 header")
    if not hmac.compare_digest(github_signature(secret, body).encode(), signature.strip().encode()):
        raise WebhookRefused("the X-Hub-Signature-256 signature does not match the body")


def slack_signature(secret: str, timestamp: str, body: bytes) -> str:
    """`X-Slack-Signature`: `v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{body}`."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def verify_slack(
    secret: str,
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    *,
    now: Callable[[], float] = time.time,
    window: float = SLACK_REPLAY_WINDOW,
) -> None:
    if not timestamp or not signature:
        raise WebhookRefused("the request lacks X-Slack-Request-Timestamp or X-Slack-Signature")
    try:
        sent = int(timestamp)
    except ValueError:
        raise WebhookRefused("X-Slack-Request-Timestamp is not a number of seconds") from None
    if abs(now() - sent) > window:
        raise WebhookRefused("the Slack request is older than five minutes (or from the future): a replay?")
    expected = slack_signature(secret, timestamp, body)
    if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        raise WebhookRefused("the X-Slack-Signature signature does not match")


def verify_token(expected: str, given: str | None, header: str) -> None:
    """A shared secret sent as is (Telegram's `X-Telegram-Bot-Api-Secret-Token`), compared in constant time."""
    if not given:
        raise WebhookRefused(f"the request has no {header} header")
    if not hmac.compare_digest(expected.encode(), given.encode()):
        raise WebhookRefused(f"the {header} header does not match")
