"""Pooled clients per provider (a lean HTTP/1.1 pool for JSON calls, httpx for streams and test transports),
with every transport failure mapped to a typed error."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Mapping
from typing import Any

import httpx
import orjson

from sophia.gateway._errors import (
    ProviderError,
    ProviderProtocolError,
    ProviderTimeout,
    ProviderUnavailable,
    error_from_status,
)
from sophia.gateway._sse import SSEEvent, aiter_sse
from sophia.gateway.providers._base import JSONDict, Timeouts
from sophia.gateway.providers._pool import HTTP11Pool, PoolError, PoolTimeout
from sophia.observability import redactor

# As many keep-alive slots as connections: with fewer, every call past the 20th concurrent one opened and closed a
# fresh upstream connection.
_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=100, keepalive_expiry=30.0)
_JSON_HEADERS = {"content-type": "application/json", "accept": "application/json"}
_SSE_HEADERS = {"content-type": "application/json", "accept": "text/event-stream"}


class HTTPUpstream:
    """Authenticated JSON and SSE calls to one base URL; never puts the credentials in an error."""

    def __init__(
        self,
        *,
        provider: str,
        base_url: str,
        headers: Mapping[str, str],
        secrets: tuple[str, ...],
        timeouts: Timeouts,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.provider = provider
        self.timeouts = timeouts
        self._secrets = tuple(s for s in secrets if s)
        for secret in self._secrets:
            redactor.add(secret)
        self.client = httpx.AsyncClient(
            base_url=base_url,
            headers=dict(headers),
            timeout=httpx.Timeout(connect=timeouts.connect, read=None, write=None, pool=timeouts.connect),
            limits=_LIMITS,
            transport=transport,
            follow_redirects=False,
        )
        # Plain JSON calls skip httpx (several times its CPU per call) unless a test transport or a proxy is in play.
        self._pool: HTTP11Pool | None = None
        if transport is None and HTTP11Pool.usable_for(base_url):
            self._pool = HTTP11Pool(
                base_url,
                {**headers, **_JSON_HEADERS},
                connect_timeout=timeouts.connect,
                max_connections=_LIMITS.max_connections or 100,
                ssl_context=httpx.create_ssl_context,
            )

    def __repr__(self) -> str:
        return f"HTTPUpstream(provider={self.provider!r}, base_url={str(self.client.base_url)!r})"

    async def post_json(self, path: str, payload: Mapping[str, Any]) -> JSONDict:
        """POST a JSON body and return the decoded JSON object, within the total timeout."""
        if self._pool is not None:
            return await self._post_pooled(self._pool, path, orjson.dumps(payload))
        try:
            async with asyncio.timeout(self.timeouts.total):
                response = await self.client.post(path, content=orjson.dumps(payload), headers=_JSON_HEADERS)
        except TimeoutError:
            raise self._timeout("total") from None
        except httpx.HTTPError as error:
            raise self.transport_error(error) from None
        if response.status_code >= 400:
            raise self._status_error(response)
        return self.decode_object(response.content, what="response")

    async def _post_pooled(self, pool: HTTP11Pool, path: str, body: bytes) -> JSONDict:
        try:
            status, headers, raw = await pool.post(path, body, timeout=self.timeouts.total)
        except PoolTimeout as error:
            raise self._timeout("connect" if error.phase == "connect" else "total") from None
        except PoolError:
            raise ProviderUnavailable(
                f"Provider '{self.provider}' could not be reached or dropped the connection; "
                "check that it is up and its base URL is right.",
                provider=self.provider,
            ) from None
        if status >= 400:
            raise error_from_status(self.provider, status, headers=headers, body=raw, secrets=self._secrets)
        return self.decode_object(raw, what="response")

    async def stream_events(self, path: str, payload: Mapping[str, Any]) -> AsyncGenerator[SSEEvent, None]:
        """POST and yield SSE events; the caller's `guard_stream` enforces the stream deadlines."""
        try:
            async with self.client.stream(
                "POST", path, content=orjson.dumps(payload), headers=_SSE_HEADERS
            ) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise self._status_error(response)
                async for event in aiter_sse(response.aiter_bytes()):
                    yield event
        except httpx.HTTPError as error:
            raise self.transport_error(error) from None

    def decode_object(self, raw: bytes | str, *, what: str) -> JSONDict:
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise ProviderProtocolError(
                f"Provider '{self.provider}' sent a {what} that is not valid JSON; it may be misconfigured "
                "(check its base URL) or failing.",
                provider=self.provider,
            ) from None
        if not isinstance(data, dict):
            raise ProviderProtocolError(
                f"Provider '{self.provider}' sent a {what} that is not a JSON object.", provider=self.provider
            )
        return data

    def transport_error(self, error: httpx.HTTPError) -> ProviderError:
        kind = type(error).__name__
        if isinstance(error, (httpx.ConnectTimeout, httpx.PoolTimeout)):
            return self._timeout("connect")
        if isinstance(error, httpx.DecodingError):
            return ProviderProtocolError(
                f"Provider '{self.provider}' sent a body that cannot be decoded ({kind}).",
                provider=self.provider,
            )
        return ProviderUnavailable(
            f"Provider '{self.provider}' could not be reached or dropped the connection ({kind}); "
            "check that it is up and its base URL is right.",
            provider=self.provider,
        )

    def _timeout(self, phase: Any) -> ProviderTimeout:
        return ProviderTimeout(
            f"Provider '{self.provider}' did not answer within the {phase} timeout; "
            "try again, fall back or raise the timeout.",
            provider=self.provider,
            phase=phase,
        )

    def _status_error(self, response: httpx.Response) -> ProviderError:
        return error_from_status(
            self.provider,
            response.status_code,
            headers=response.headers,
            body=response.content,
            secrets=self._secrets,
        )

    async def aclose(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()
        await self.client.aclose()


__all__ = ["HTTPUpstream"]
