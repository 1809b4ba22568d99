"""Linear's GraphQL wire: one POST per operation, errors in the body, cursor paging through `pageInfo`.

A rate-limited call answers HTTP 400 with `extensions.code = "RATELIMITED"`; its reset is in
`X-RateLimit-Requests-Reset` / `X-RateLimit-Complexity-Reset` (epoch ms), which the kit's gate also reads.
"""

from __future__ import annotations

import time
from typing import Any

from sophia.connectors._errors import (
    ConnectorAuthError,
    ConnectorError,
    ConnectorInvalid,
    ConnectorRateLimited,
)
from sophia.connectors._http import ConnectorHttp
from sophia.connectors._ratelimit import reset_delay

__all__ = ["PAGE_INFO", "graphql"]

PAGE_INFO = "pageInfo { hasNextPage endCursor }"


async def graphql(
    http: ConnectorHttp, operation: str, query: str, variables: dict[str, Any], *, reads: bool
) -> dict[str, Any]:
    """Send one operation; the `data` object, or a typed error carrying Linear's own message."""
    response = await http.request(
        "POST",
        "/graphql",
        json={"query": query, "variables": variables, "operationName": operation},
        reads=reads,
        ok=(400,),
    )
    body = response.json() if response.content else {}
    errors = body.get("errors") or []
    if errors:
        first = errors[0]
        code = (first.get("extensions") or {}).get("code", "")
        message = f"Linear refused {operation}: {first.get('message', 'unknown error')}"[:500]
        if code == "RATELIMITED":
            wait = max(
                reset_delay(response.headers.get(h), time.time()) or 0.0
                for h in ("x-ratelimit-requests-reset", "x-ratelimit-complexity-reset")
            )
            raise ConnectorRateLimited(
                message, service="Linear", status=response.status_code, retry_after=wait
            )
        if code in ("AUTHENTICATION_ERROR", "FORBIDDEN"):
            raise ConnectorAuthError(message, service="Linear", status=response.status_code)
        raise ConnectorInvalid(message, service="Linear", status=response.status_code)
    if response.status_code == 400 or not isinstance(body.get("data"), dict):
        raise ConnectorError(f"Linear answered {operation} without data", service="Linear", status=400)
    data: dict[str, Any] = body["data"]
    return data
