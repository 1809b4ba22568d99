"""The connector kit over a transport double: typed errors, retries, pacing, the breaker, dry runs, paging."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from sophia.config import ConnectorSettings
from sophia.connectors import (
    ConnectorAuthError,
    ConnectorConflict,
    ConnectorInvalid,
    ConnectorNotConfigured,
    ConnectorNotFound,
    ConnectorRateLimited,
    ConnectorUnavailable,
    build_connector,
    call_scope,
)
from sophia.secrets import SecretResolver
from tests.connectors.example import Notes

TOKEN = "tok-5ecret-abcdef-fake"


class Service:
    """Records every request and answers from a queue of (status, headers, body)."""

    def __init__(self, *answers: tuple[int, dict[str, str], Any]) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        status, headers, body = self.answers.pop(0) if self.answers else (200, {}, {"ok": True})
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        return httpx.Response(
            status, headers={"content-type": "application/json", **headers}, content=content
        )


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def notes(home: Path, service: Service, **options: Any) -> Notes:
    settings = ConnectorSettings(
        kind="notes",
        credentials={"token": "env:NOTES_TOKEN"},
        max_retries=options.pop("max_retries", 3),
        **options,
    )
    resolver = SecretResolver(home, environ={"NOTES_TOKEN": TOKEN})
    connector = build_connector("notes", settings, resolver, transport=httpx.MockTransport(service))
    assert isinstance(connector, Notes)
    sleeps = Sleeps()
    connector.http._sleep = sleeps  # the retry back-off, recorded instead of slept
    connector.http.gate._sleep = sleeps
    return connector


async def test_requests_carry_the_token_and_a_get_is_retried_after_a_503(home: Path) -> None:
    service = Service((503, {}, {"message": "down"}), (200, {}, {"login": "ada"}))
    connector = notes(home, service)
    result = await connector.check()
    assert result.ok and result.detail == {"login": "ada"}
    assert len(service.requests) == 2
    assert service.requests[0].headers["authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, ConnectorAuthError),
        (403, ConnectorAuthError),
        (404, ConnectorNotFound),
        (409, ConnectorConflict),
        (422, ConnectorInvalid),
    ],
)
async def test_client_errors_are_typed_carry_the_service_words_and_are_not_retried(
    home: Path, status: int, error: type[Exception]
) -> None:
    service = Service((status, {}, {"message": f"nope {TOKEN}"}))
    with pytest.raises(error) as raised:
        await notes(home, service).check()
    assert len(service.requests) == 1
    assert f"({status})" in str(raised.value) and "nope" in str(raised.value)
    assert TOKEN not in str(raised.value), "a secret echoed by the service must not reach the message"


async def test_a_post_is_not_resent_after_a_500_without_an_idempotency_key(home: Path) -> None:
    service = Service((500, {}, {"message": "boom"}))
    connector = notes(home, service)
    connector.http.idempotency_header = None
    with pytest.raises(ConnectorUnavailable):
        await connector.create_note("hello")
    assert len(service.requests) == 1


async def test_a_post_with_an_idempotency_key_is_retried_with_the_same_key(home: Path) -> None:
    service = Service((502, {}, {}), (201, {}, {"id": 7}))
    connector = notes(home, service)
    with call_scope(dry_run=False, tool="notes.notes.create", arguments={"text": "x"}, run_id="run-1"):
        assert await connector.create_note("x") == {"id": 7}
    keys = [r.headers["idempotency-key"] for r in service.requests]
    assert len(keys) == 2 and keys[0] == keys[1]


async def test_the_idempotency_key_is_stable_within_a_run_and_differs_across_arguments() -> None:
    def key(run: str | None, text: str) -> str:
        with call_scope(dry_run=False, tool="t", arguments={"text": text}, run_id=run) as scope:
            return scope.idempotency_key

    assert key("run-1", "a") == key("run-1", "a")
    assert key("run-1", "a") != key("run-1", "b") != key("run-2", "b")
    assert key(None, "a") != key(None, "a"), "outside a run every call is its own"


async def test_a_429_waits_for_retry_after_then_succeeds(home: Path) -> None:
    service = Service((429, {"retry-after": "7"}, {"message": "slow down"}), (200, {}, {"login": "ada"}))
    connector = notes(home, service)
    assert (await connector.check()).ok
    assert 7 in [round(d) for d in connector.http._sleep.delays]  # type: ignore[attr-defined]


async def test_a_retry_after_longer_than_the_limit_fails_fast_as_rate_limited(home: Path) -> None:
    service = Service((429, {"retry-after": "3600"}, {"message": "come back in an hour"}))
    with pytest.raises(ConnectorRateLimited) as raised:
        await notes(home, service, max_rate_limit_wait_seconds=30).check()
    assert raised.value.retry_after == 3600
    assert len(service.requests) == 1


async def test_githubs_secondary_limit_403_is_a_rate_limit_not_an_auth_error(home: Path) -> None:
    body = {
        "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
    }
    service = Service((403, {}, body), (403, {}, body), (403, {}, body), (403, {}, body))
    with pytest.raises(ConnectorRateLimited):
        await notes(home, service, max_retries=1).check()


async def test_remaining_zero_makes_the_next_request_wait_for_the_reset(home: Path) -> None:
    service = Service(
        (200, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "12"}, {"login": "ada"}),
        (200, {}, {"login": "ada"}),
    )
    connector = notes(home, service)
    await connector.check()
    state = connector.http.gate.state()
    assert state.remaining == 0 and state.blocked_for > 10
    await connector.check()
    assert any(d > 10 for d in connector.http._sleep.delays)  # type: ignore[attr-defined]


async def test_the_breaker_opens_after_repeated_outages_and_then_sends_nothing(home: Path) -> None:
    service = Service(*[(503, {}, {})] * 5)
    connector = notes(home, service, max_retries=0)
    for _ in range(5):
        with pytest.raises(ConnectorUnavailable):
            await connector.check()
    sent = len(service.requests)
    with pytest.raises(ConnectorUnavailable, match="circuit breaker open"):
        await connector.check()
    assert len(service.requests) == sent == 5


async def test_a_network_failure_is_unavailable_and_retried(home: Path) -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, json={"login": "ada"})

    settings = ConnectorSettings(kind="notes", credentials={"token": "env:NOTES_TOKEN"})
    connector = build_connector(
        "notes",
        settings,
        SecretResolver(home, environ={"NOTES_TOKEN": TOKEN}),
        transport=httpx.MockTransport(handler),
    )
    connector.http._sleep = Sleeps()
    assert (await connector.check()).ok and len(calls) == 2


async def test_a_missing_credential_names_the_setting_and_sends_nothing(home: Path) -> None:
    service = Service()
    settings = ConnectorSettings(kind="notes")
    connector = build_connector(
        "notes", settings, SecretResolver(home, environ={}), transport=httpx.MockTransport(service)
    )
    with pytest.raises(ConnectorNotConfigured, match=r"credentials\.token is not set"):
        await connector.check()
    unresolved = ConnectorSettings(kind="notes", credentials={"token": "env:NOT_THERE"})
    connector = build_connector(
        "notes", unresolved, SecretResolver(home, environ={}), transport=httpx.MockTransport(service)
    )
    with pytest.raises(ConnectorNotConfigured, match="NOT_THERE"):
        await connector.check()
    assert service.requests == []


async def test_link_paging_follows_next_until_the_limit(home: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("page", "1"))
        headers = {}
        if page < 3:
            headers["link"] = f'<https://notes.invalid/api/notes?page={page + 1}>; rel="next"'
        return httpx.Response(200, json=[{"id": page * 10 + i} for i in range(2)], headers=headers)

    settings = ConnectorSettings(kind="notes", credentials={"token": "env:NOTES_TOKEN"})
    connector = build_connector(
        "notes",
        settings,
        SecretResolver(home, environ={"NOTES_TOKEN": TOKEN}),
        transport=httpx.MockTransport(handler),
    )
    assert [n["id"] for n in await connector.list_notes(limit=50)] == [10, 11, 20, 21, 30, 31]
    assert [n["id"] for n in await connector.list_notes(limit=3)] == [10, 11, 20]
