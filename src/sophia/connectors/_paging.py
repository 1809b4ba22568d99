"""Walking a listing to the end or to a limit: Link headers (GitHub), cursors (Slack, Gong), offsets (Asana)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx

from sophia.connectors._http import ConnectorHttp

__all__ = ["collect_cursor", "collect_links", "next_link"]

T = TypeVar("T")
_MAX_PAGES = 1000


def next_link(response: httpx.Response) -> str | None:
    """The `rel="next"` URL of an RFC 8288 Link header, if any."""
    link = response.links.get("next")
    url = link.get("url") if link else None
    return url or None


async def collect_links(
    http: ConnectorHttp,
    path: str,
    *,
    params: dict[str, Any] | None = None,
    limit: int = 100,
    items: Callable[[Any], list[Any]] = lambda body: list(body),
) -> list[Any]:
    """Follow `Link: rel="next"` until `limit` items; the next URL must stay on the connector's own host."""
    found: list[Any] = []
    url: str | None = path
    query = params
    for _ in range(_MAX_PAGES):
        if url is None or len(found) >= limit:
            break
        response = await http.request("GET", url, params=query)
        found.extend(items(response.json()))
        url, query = next_link(response), None
        if url is not None and httpx.URL(url).host not in ("", httpx.URL(http.base_url).host):
            break
    return found[:limit]


async def collect_cursor(
    page: Callable[[str | None], Awaitable[tuple[list[T], str | None]]], *, limit: int = 100
) -> list[T]:
    """Call `page(cursor)` (returns items and the next cursor, None or "" at the end) until `limit` items."""
    found: list[T] = []
    cursor: str | None = None
    seen: set[str] = set()
    for _ in range(_MAX_PAGES):
        batch, cursor = await page(cursor)
        found.extend(batch)
        if not cursor or len(found) >= limit or cursor in seen:
            break
        seen.add(cursor)
    return found[:limit]
