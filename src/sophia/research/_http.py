"""The HTTP side every API source shares: its own rate limit, a timeout, retries honouring Retry-After, a breaker.

Retries and the breaker are the gateway's own (`RetryPolicy`, `CircuitBreaker`), so a search API is treated the
way a model provider is: 429, 408, 409 and 5xx are retried with jittered backoff, a long Retry-After gives up at
once, and a source that keeps failing is skipped until its cool-down has passed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx
import orjson

from sophia.gateway import CircuitBreaker, RetryPolicy, parse_retry_after
from sophia.research._errors import SourceFailed, SourceTimeout

__all__ = ["IntervalLimiter", "SourceHttp"]

_RETRYABLE = frozenset({408, 409, 425, 429})
_USER_AGENT = "Sophia/0.1 (+research)"
Sleep = Callable[[float], Awaitable[None]]


class IntervalLimiter:
    """At most one request per `interval` seconds (arXiv asks for 1 per 3 s); callers queue in order."""

    def __init__(self, per_second: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = 0.0 if per_second <= 0 else 1.0 / per_second
        self._clock = clock
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self, sleep: Sleep = asyncio.sleep) -> None:
        if self.interval == 0.0:
            return
        async with self._lock:
            now = self._clock()
            if self._next > now:
                await sleep(self._next - now)
                now = self._next
            self._next = now + self.interval


class SourceHttp:
    """One source's client. `transport` lets tests answer with recorded, documented response shapes."""

    def __init__(
        self,
        source: str,
        *,
        per_second: float,
        timeout: float = 15.0,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
        secrets: tuple[str, ...] = (),
    ) -> None:
        self.source = source
        self.timeout = timeout
        self.limiter = IntervalLimiter(per_second)
        self.retry = retry or RetryPolicy(max_retries=2, max_retry_after=30.0)
        self.breaker = CircuitBreaker(failure_threshold=5, cooldown=60.0)
        self._sleep = sleep
        self._secrets = tuple(s for s in secrets if s)
        self._client = httpx.AsyncClient(
            transport=transport,
            timeout=timeout,
            trust_env=False,
            follow_redirects=True,
            headers={"User-Agent": _USER_AGENT},
        )
        self.requests = 0

    async def aclose(self) -> None:
        await self._client.aclose()

    async def get_json(
        self, url: str, params: Mapping[str, Any] | None = None, headers: Mapping[str, str] | None = None
    ) -> Any:
        response = await self.request("GET", url, params=params, headers=headers)
        return self._json(response)

    async def post_json(self, url: str, body: Any, headers: Mapping[str, str] | None = None) -> Any:
        response = await self.request("POST", url, json=body, headers=headers)
        return self._json(response)

    async def get_text(
        self, url: str, params: Mapping[str, Any] | None = None, headers: Mapping[str, str] | None = None
    ) -> str:
        return (await self.request("GET", url, params=params, headers=headers)).text

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One call with the source's limit, deadline and retries; a typed `SourceFailed` when it gives up."""
        if not self.breaker.allow():
            raise SourceFailed(
                f"research source {self.source!r} failed repeatedly; skipped for "
                f"{self.breaker.seconds_until_probe():.0f} s more",
                source=self.source,
            )
        attempt = 0
        while True:
            try:
                response = await self._once(method, url, **kwargs)
            except SourceFailed as error:
                if self.retry.should_retry(error, attempt):
                    await self._sleep(self.retry.delay(error, attempt))
                    attempt += 1
                    continue
                if error.retryable:
                    self.breaker.record_failure()
                else:
                    self.breaker.release_probe()
                raise
            self.breaker.record_success()
            return response

    async def _once(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        await self.limiter.wait(self._sleep)
        self.requests += 1
        try:
            async with asyncio.timeout(self.timeout):
                response = await self._client.request(method, url, **kwargs)
        except TimeoutError:
            raise SourceTimeout(self.source, self.timeout) from None
        except httpx.HTTPError as error:
            raise SourceFailed(
                f"research source {self.source!r} cannot be reached ({type(error).__name__})",
                source=self.source,
                retryable=True,
            ) from None
        if response.status_code >= 400:
            status = response.status_code
            raise SourceFailed(
                f"research source {self.source!r} answered HTTP {status}: {self._detail(response)}",
                source=self.source,
                status=status,
                retryable=status in _RETRYABLE or status >= 500,
                retry_after=parse_retry_after(response.headers),
            )
        return response

    def _detail(self, response: httpx.Response) -> str:
        text = response.text[:200].replace("\n", " ")
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return text

    def _json(self, response: httpx.Response) -> Any:
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise SourceFailed(
                f"research source {self.source!r} answered something that is not JSON", source=self.source
            ) from None
