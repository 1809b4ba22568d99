"""One HTTP client per connector: auth, pacing by the service's headers, retries, a breaker, typed errors.

Retries: 429 and network failures before a response always; 5xx for GET/HEAD/PUT/DELETE (idempotent by HTTP) and
for POST/PATCH only when an idempotency key was sent, so a write the service may have done is never sent twice.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import httpx

from sophia.connectors._auth import Auth, NoAuth
from sophia.connectors._dryrun import DryRunStop, current_call, preview_of
from sophia.connectors._errors import (
    ConnectorError,
    ConnectorRateLimited,
    ConnectorUnavailable,
    error_from_response,
    parse_retry_after,
)
from sophia.connectors._ratelimit import RateGate
from sophia.gateway import CircuitBreaker, RetryPolicy
from sophia.observability import redactor

__all__ = ["ConnectorHttp", "Classify"]

Classify = Callable[[str, httpx.Response, float | None], ConnectorError]
_READS = frozenset({"GET", "HEAD", "OPTIONS"})
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


class ConnectorHttp:
    """`request()` is the one way a connector talks to its service."""

    def __init__(
        self,
        service: str,
        base_url: str,
        *,
        auth: Auth | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
        gate: RateGate | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        headers: dict[str, str] | None = None,
        idempotency_header: str | None = None,
        classify: Classify = error_from_response,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.service = service
        self.base_url = base_url.rstrip("/")
        self.auth: Auth = auth or NoAuth()
        self.retry = retry or RetryPolicy(max_retries=3, base_delay=0.5, max_delay=20.0, max_retry_after=60.0)
        self.breaker = breaker or CircuitBreaker(failure_threshold=5, cooldown=30.0)
        self.gate = gate or RateGate()
        self.idempotency_header = idempotency_header
        self._classify, self._sleep, self._rng = classify, sleep, rng
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            transport=transport,
            headers={"User-Agent": "sophia-connector", **(headers or {})},
            follow_redirects=False,
        )

    @property
    def client(self) -> httpx.AsyncClient:
        """The underlying client, for a flow that needs the same transport (an OAuth token endpoint)."""
        return self._client

    async def aclose(self) -> None:
        await self._client.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | list[tuple[str, Any]] | None = None,
        json: Any = None,
        data: dict[str, Any] | None = None,
        content: bytes | None = None,
        files: dict[str, tuple[str, bytes, str]] | None = None,
        headers: dict[str, str] | None = None,
        reads: bool | None = None,
        ok: Iterable[int] = (),
        authenticate: bool = True,
        timeout: float | None = None,
    ) -> httpx.Response:
        """Send one call (with its retries); a 2xx or an `ok` status returns, anything else raises typed.

        `reads=True` marks a POST that changes nothing (a GraphQL query, a search), so a dry run lets it through.
        `authenticate=False` sends no credentials (a public URL the service gave, such as a webhook).
        `timeout` replaces the client's for this call (a long poll that waits on the server by design).
        """
        method = method.upper()
        is_read = method in _READS if reads is None else reads
        extra = dict(headers or {})
        scope = current_call()
        if not is_read and scope is not None and self.idempotency_header:
            extra.setdefault(self.idempotency_header, scope.idempotency_key)
        allowed = set(ok)
        retry_5xx = method in _IDEMPOTENT or is_read or (self.idempotency_header or "") in extra
        attempt = 0
        refreshed = False
        while True:
            request = self._client.build_request(
                method,
                path,
                params=params,
                json=json,
                data=data,
                content=content,
                files=files,
                headers=extra,
                timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else httpx.Timeout(timeout),
            )
            if authenticate:
                request.headers.update(await self.auth.headers())
            if not is_read and scope is not None and scope.dry_run:
                raise DryRunStop(preview_of(request))
            failure: ConnectorError
            try:
                response = await self._send_once(request)
            except ConnectorError as error:
                failure, retry_kind = error, True
            else:
                if response.is_success or response.status_code in allowed:
                    return response
                if (
                    authenticate
                    and response.status_code == 401
                    and not refreshed
                    and await self.auth.refresh()
                ):
                    refreshed = True
                    continue
                failure = self._classify(
                    self.service, response, parse_retry_after(response.headers.get("retry-after"))
                )
                retry_kind = retry_5xx or isinstance(failure, ConnectorRateLimited)
            if not self._may_retry(failure, attempt, retry_kind):
                raise failure
            await self._sleep(self.retry.delay(failure, attempt, self._rng))
            attempt += 1

    async def json(self, method: str, path: str, **options: Any) -> Any:
        """`request()` and the decoded JSON body (None for an empty body)."""
        response = await self.request(method, path, **options)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ConnectorError(
                f"{self.service} answered {method} {path} with a body that is not JSON",
                service=self.service,
                status=response.status_code,
            ) from None

    def _may_retry(self, error: ConnectorError, attempt: int, retry_kind: bool) -> bool:
        return retry_kind and self.retry.should_retry(error, attempt)

    async def _send_once(self, request: httpx.Request) -> httpx.Response:
        refused = await self.gate.wait()
        if refused:
            raise ConnectorRateLimited(
                f"{self.service} asked to wait {refused:.0f} s, longer than this connector's limit; try later",
                service=self.service,
                retry_after=refused,
                retryable=False,
            )
        if not self.breaker.allow():
            raise ConnectorUnavailable(
                f"{self.service} is failing; calls are paused for {self.breaker.seconds_until_probe():.0f} s"
                " (circuit breaker open)",
                service=self.service,
                retryable=False,
            )
        try:
            response = await self._client.send(request)
        except httpx.TimeoutException:
            self.breaker.record_failure()
            raise ConnectorUnavailable(
                f"{self.service} did not answer {redactor.redact(request.method + ' ' + request.url.path)} in time",
                service=self.service,
                retryable=request.method in _IDEMPOTENT,
            ) from None
        except httpx.TransportError as error:
            self.breaker.record_failure()
            sent = not isinstance(error, httpx.ConnectError)
            raise ConnectorUnavailable(
                f"{self.service} could not be reached ({type(error).__name__})",
                service=self.service,
                retryable=not sent or request.method in _IDEMPOTENT,
            ) from None
        self.gate.observe(response.headers, parse_retry_after(response.headers.get("retry-after")))
        if response.status_code >= 500 or response.status_code == 408:
            self.breaker.record_failure()
        elif response.status_code == 429:
            self.breaker.release_probe()
        else:
            self.breaker.record_success()
        await response.aread()
        return response
