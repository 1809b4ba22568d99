"""Snowflake over the SQL API v2 double: key-pair JWT and PAT auth, polling, partitions, typed rows, the
read-only guard, timeouts and cancellation that cancel the statement on Snowflake's side."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import decimal
import hashlib
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from sophia.config import ConnectorSettings
from sophia.connectors import (
    ConnectorInvalid,
    ConnectorUnavailable,
    DryRunStop,
    build_connector,
    call_scope,
)
from sophia.connectors._snowflake import snowflake_value
from sophia.secrets import SecretResolver
from tests.connectors.infra_kit import Sleeps
from tests.connectors.snowflake_standin import HANDLE, SnowflakeService

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PEM = KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
).decode()
PAT = "snowflake-pat-5ecret-fake"


def _snowflake(home: Path, service: SnowflakeService, *, keypair: bool = True) -> Any:
    credentials = {"private_key": "env:SF_KEY"} if keypair else {"token": "env:SF_PAT"}
    settings = ConnectorSettings(
        credentials=credentials,
        options={
            "account": "myorg-acct1",
            "user": "sophia_bot",
            "warehouse": "ANALYTICS_WH",
            "role": "READER",
        },
        requests_per_second=1000,
    )
    resolver = SecretResolver(home, environ={"SF_KEY": PEM, "SF_PAT": PAT})
    connector = build_connector("snowflake", settings, resolver, transport=httpx.MockTransport(service))
    sleeps = Sleeps()
    connector._sleep = sleeps
    connector.http._sleep = sleeps
    return connector


def _claims(token: str) -> dict[str, Any]:
    header, payload, signature = token.split(".")
    pad = lambda part: part + "=" * (-len(part) % 4)  # noqa: E731
    KEY.public_key().verify(
        base64.urlsafe_b64decode(pad(signature)),
        f"{header}.{payload}".encode(),
        padding.PKCS1v15(),
        hashes.SHA256(),
    )
    return dict(json.loads(base64.urlsafe_b64decode(pad(payload))))


async def test_a_query_polls_reads_every_partition_and_types_the_rows(home: Path) -> None:
    service = SnowflakeService(polls=2)
    snowflake = _snowflake(home, service)
    result = await snowflake.query("SELECT * FROM accounts WHERE id > ?", bindings=[0], timeout_seconds=30)
    assert [c["name"] for c in result["columns"]][:3] == ["ACCOUNT_ID", "ARR", "NAME"]
    assert result["row_count"] == 3 and result["partitions"] == 2 and not result["truncated"]
    first, second, third = result["rows"]
    assert (
        first[:3] == [1, "12000.50", "Acme"]
        and first[3] == (dt.date(1970, 1, 1) + dt.timedelta(20424)).isoformat()
    )
    assert first[4] == "2025-12-01T12:00:00" and first[5] is True and first[6] == ["enterprise"]
    assert second[1] is None and second[5] is False and third[6] == {"tier": 2}
    submitted = service.sent("POST", "/api/v2/statements")[0]
    assert submitted.url.params["async"] == "true"
    assert service.statements[0]["bindings"] == {"1": {"type": "FIXED", "value": "0"}}
    assert service.statements[0]["warehouse"] == "ANALYTICS_WH" and service.statements[0]["timeout"] == 30
    polls = service.sent("GET", HANDLE)
    assert [r.url.params.get("partition") for r in polls] == [None, None, None, "1"]
    assert snowflake._sleep.delays == [0.25, 0.5, 1.0], "backs off while Snowflake says 333334"


async def test_key_pair_jwt_has_the_documented_claims_and_token_type(home: Path) -> None:
    service = SnowflakeService(polls=0)
    await _snowflake(home, service).query("select 1")
    sent = service.requests[0]
    assert sent.headers["x-snowflake-authorization-token-type"] == "KEYPAIR_JWT"
    claims = _claims(sent.headers["authorization"].removeprefix("Bearer "))
    public = KEY.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    fingerprint = base64.b64encode(hashlib.sha256(public).digest()).decode()
    assert claims["sub"] == "MYORG-ACCT1.SOPHIA_BOT"
    assert claims["iss"] == f"MYORG-ACCT1.SOPHIA_BOT.SHA256:{fingerprint}"
    assert 0 < claims["exp"] - claims["iat"] <= 3600
    assert str(sent.url).startswith("https://myorg-acct1.snowflakecomputing.com/api/v2/statements")


async def test_a_programmatic_access_token_is_sent_as_such(home: Path) -> None:
    service = SnowflakeService(polls=0)
    await _snowflake(home, service, keypair=False).query("show tables")
    sent = service.requests[0]
    assert sent.headers["authorization"] == f"Bearer {PAT}"
    assert sent.headers["x-snowflake-authorization-token-type"] == "PROGRAMMATIC_ACCESS_TOKEN"


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM accounts",
        "select 1; drop table accounts",
        "WITH gone AS (SELECT 1) INSERT INTO t SELECT * FROM gone",
        "-- just a comment",
        "CALL cleanup()",
    ],
)
async def test_query_refuses_what_may_write_and_sends_nothing(home: Path, sql: str) -> None:
    service = SnowflakeService()
    with pytest.raises(ConnectorInvalid) as refused:
        await _snowflake(home, service).query(sql)
    assert "snowflake.execute" in refused.value.message and service.requests == []


async def test_execute_is_stopped_by_a_dry_run_and_runs_otherwise(home: Path) -> None:
    service = SnowflakeService(polls=0)
    snowflake = _snowflake(home, service)
    with call_scope(dry_run=True, tool="snowflake.execute", arguments={}, run_id=None):
        with pytest.raises(DryRunStop) as stopped:
            await snowflake.execute("UPDATE accounts SET arr = 0 WHERE id = ?", bindings=[7])
    preview = stopped.value.preview.to_record()
    assert preview["body"]["statement"].startswith("UPDATE") and "Bearer ey" not in json.dumps(preview)
    assert service.requests == []
    result = await snowflake.execute("UPDATE accounts SET arr = 0 WHERE id = 7")
    assert result["statement_handle"] == HANDLE
    with pytest.raises(ConnectorInvalid):
        await snowflake.execute("update a set x = 1; update b set y = 2")


async def test_a_query_past_its_timeout_is_cancelled_on_snowflake(home: Path) -> None:
    service = SnowflakeService(polls=100)
    with pytest.raises(ConnectorUnavailable) as late:
        await _snowflake(home, service).query("select * from huge", timeout_seconds=2)
    assert "cancelled" in late.value.message and service.cancelled == [HANDLE]


async def test_cancelling_the_caller_cancels_the_statement(home: Path) -> None:
    service = SnowflakeService(polls=10_000)
    snowflake = _snowflake(home, service)
    snowflake._sleep = lambda _: asyncio.sleep(0.001)
    task = asyncio.create_task(snowflake.query("select * from huge", timeout_seconds=600))
    while not service.sent("GET", HANDLE):
        await asyncio.sleep(0.001)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert service.cancelled == [HANDLE]


async def test_a_failed_statement_is_a_typed_error_with_snowflakes_words(home: Path) -> None:
    service = SnowflakeService(polls=0)
    service.fail_with = {
        "code": "002003",
        "sqlState": "42S02",
        "message": "SQL compilation error:\nObject 'NOPE' does not exist or not authorized.",
        "statementHandle": HANDLE,
    }
    with pytest.raises(ConnectorInvalid) as failed:
        await _snowflake(home, service).query("select * from nope")
    assert "does not exist" in failed.value.message


def test_cells_are_typed_by_column() -> None:
    def col(kind: str, scale: int = 0) -> dict[str, Any]:
        return {"type": kind, "scale": scale}

    assert snowflake_value("42", col("fixed")) == 42
    assert snowflake_value("1.50", col("fixed", 2)) == decimal.Decimal("1.50")
    assert snowflake_value("1.5e3", col("real")) == 1500.0
    assert snowflake_value("3600.5", col("time")) == dt.time(1, 0, 0, 500000)
    tz = snowflake_value("1764590400.000000000 1500", col("timestamp_tz"))
    assert tz.utcoffset() == dt.timedelta(minutes=60) and tz.hour == 13
    assert snowflake_value("CAFE", col("binary")) == b"\xca\xfe"
    assert snowflake_value(None, col("text")) is None
