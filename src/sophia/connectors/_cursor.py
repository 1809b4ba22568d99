"""Sync cursors and service timestamps shared by the CRM and call-recorder connectors.

A cursor is compact JSON (the service's page token plus the `since` the walk started from), so a resumed sync
continues the same walk even when the engine passes a different `since`.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from sophia.connectors._errors import ConnectorInvalid

__all__ = ["decode_cursor", "encode_cursor", "iso_z", "parse_time"]


def encode_cursor(**fields: Any) -> str:
    return json.dumps(
        {k: v for k, v in fields.items() if v is not None}, sort_keys=True, separators=(",", ":")
    )


def decode_cursor(cursor: str | None, service: str) -> dict[str, Any]:
    if not cursor:
        return {}
    try:
        value = json.loads(cursor)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise ConnectorInvalid(f"{service}: the sync cursor {cursor[:60]!r} is not one this connector made")
    return value


def parse_time(value: Any) -> datetime | None:
    """ISO 8601 (with Z or an offset, or a bare date) or epoch milliseconds → an aware UTC datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
        return datetime.fromtimestamp(float(value) / 1000, UTC)
    text = str(value).replace("Z", "+00:00")
    if len(text) == 10:
        day = date.fromisoformat(text)
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    if text[-5] in "+-" and text[-3] != ":":
        text = f"{text[:-2]}:{text[-2:]}"  # Salesforce's +0000
    parsed = datetime.fromisoformat(text)
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def iso_z(moment: datetime) -> str:
    """`2026-05-02T10:00:00.000Z`: the form HubSpot, Salesforce and Gong all accept."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
