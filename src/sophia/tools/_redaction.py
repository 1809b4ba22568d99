"""Arguments and results made safe to store: known secrets, secret-named keys and token-shaped text hidden."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sophia.observability import REDACTED, redactor

__all__ = ["is_secret_name", "redact_text", "redact_value", "summarize"]

_SECRET_WORDS = frozenset(
    {
        "token", "tokens", "key", "keys", "apikey", "password", "passwd", "pwd", "passphrase", "secret",
        "secrets", "credential", "credentials", "authorization", "auth", "cookie", "cookies", "bearer",
        "signature", "private",
    }
)  # fmt: skip
_WORD_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")
_TEXT_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{8,}"), rf"\1 {REDACTED}"),
    (
        re.compile(
            r"(?i)([\w-]*(?:token|secret|password|passwd|api[_-]?key|apikey|auth)[\w-]*\s*[=:]\s*[\"']?)"
            r"[^\s\"'&,;]{4,}"
        ),
        rf"\1{REDACTED}",
    ),
    (re.compile(r"(?<=://)([^/\s:@]+):[^/\s@]+@"), rf"\1:{REDACTED}@"),
    (
        re.compile(r"(?<![\w-])(?:sk-[A-Za-z0-9_-]{20,}|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_\w{20,})"),
        REDACTED,
    ),
    (re.compile(r"(?<![\w-])(?:xox[abprs]-[A-Za-z0-9-]{10,}|(?:AKIA|ASIA)[A-Z0-9]{16})"), REDACTED),
)
_MAX_DEPTH = 20


def is_secret_name(name: str) -> bool:
    """True for keys like `api_key`, `GITHUB_TOKEN`, `clientSecret`, `password`."""
    words = {word.lower() for word in _WORD_SPLIT.split(name) if word}
    return bool(words & _SECRET_WORDS) or "apikey" in name.lower().replace("_", "").replace("-", "")


def redact_text(text: str) -> str:
    """Registered secret values first (exact), then token-shaped text (best effort)."""
    text = redactor.redact(text)
    for pattern, replacement in _TEXT_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_value(value: Any, depth: int = 0) -> Any:
    """A JSON-ready copy with secret-named keys' values replaced and every string redacted."""
    if depth > _MAX_DEPTH:
        return REDACTED
    if isinstance(value, Mapping):
        return {
            str(k): REDACTED if is_secret_name(str(k)) and v not in (None, "") else redact_value(v, depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [redact_value(item, depth + 1) for item in value]
    if isinstance(value, str):
        return redact_text(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact_text(repr(value))


def summarize(value: Any, limit: int = 2000) -> Any:
    """A redacted copy, with strings cut to `limit` characters so an audit row stays small."""
    redacted = redact_value(value)
    return _cut(redacted, limit)


def _cut(value: Any, limit: int) -> Any:
    if isinstance(value, str) and len(value) > limit:
        return f"{value[:limit]}…[{len(value) - limit} more characters]"
    if isinstance(value, dict):
        return {k: _cut(v, limit) for k, v in value.items()}
    if isinstance(value, list):
        return [_cut(v, limit) for v in value[:200]]
    return value
