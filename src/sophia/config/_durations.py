"""Durations in settings: "90s", "15m", "1h", "1d", a number of seconds, or "off"."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["seconds"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def seconds(value: Any) -> Any:
    """'90s', '30m', '1h', '1d', a number of seconds, or 'off'/0 (never) -> seconds as a float."""
    if isinstance(value, str):
        if value.strip().lower() in ("off", "never", ""):
            return 0.0
        match = _DURATION.match(value.lower())
        if match is None:
            raise ValueError('a duration is a number with s, m, h or d ("90s", "1h", "1d"), or "off"')
        return float(match.group(1)) * _DURATION_UNITS[match.group(2) or "s"]
    return value
