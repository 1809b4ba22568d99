"""Snowflake through the SQL API v2 (`/api/v2/statements`): async statements polled to the end, every result
partition fetched, typed rows, a timeout that cancels the statement, and a read-only default.

Why the SQL API over httpx and not `snowflake-connector-python`: the connector is a blocking client (it would need
a thread per query on the async request path) and pulls in a large dependency tree; the SQL API is plain HTTPS,
so it shares the kit's retries, breaker, dry run and the stand-in tests. `snowflake.query` refuses anything the
read/write classifier (`_sqlclass.py`) cannot prove reads only; `snowflake.execute` is the WRITE action.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import decimal
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from sophia.config import ConnectorSettings
from sophia.connectors._auth import Auth, Resolve
from sophia.connectors._errors import ConnectorInvalid, ConnectorUnavailable
from sophia.connectors._http import ConnectorHttp
from sophia.connectors._model import CheckResult, Connector, Credential, action
from sophia.connectors._neon import json_value
from sophia.connectors._snowflake_auth import SnowflakeAuth
from sophia.connectors._sqlclass import split_statements
from sophia.secrets import SecretResolver
from sophia.tools import SideEffect

__all__ = ["Snowflake", "snowflake_value"]

_MAX_ROWS = 10_000
_ACCEPTED = "333334"  # "Asynchronous execution in progress"
_EPOCH = dt.date(1970, 1, 1)
Timeout = Annotated[float, "Seconds before the statement is cancelled (server- and client-side)."]


class Snowflake(Connector):
    kind = "snowflake"
    title = "Snowflake"
    group = "data"
    default_base_url = "https://ACCOUNT.snowflakecomputing.com"
    docs_url = "https://docs.snowflake.com/en/developer-guide/sql-api/index"
    credentials = (
        Credential("private_key", "an RSA private key (PEM) registered as the user's RSA_PUBLIC_KEY", False),
        Credential("token", "a programmatic access token (when no private_key is given)", False),
    )

    def __init__(self, name: str, settings: ConnectorSettings, http: ConnectorHttp) -> None:
        super().__init__(name, settings, http)
        account = str(settings.options.get("account") or "")
        if settings.base_url is None and account:
            http.base_url = f"https://{account}.snowflakecomputing.com"
            http.client.base_url = http.base_url
        self._sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    def build_auth(self, resolve: Resolve, secrets: SecretResolver) -> Auth:
        return SnowflakeAuth(
            resolve,
            keypair="private_key" in self.settings.credentials,
            account=str(self.options.get("account") or ""),
            user=str(self.options.get("user") or ""),
        )

    async def check(self) -> CheckResult:
        result = await self._run("SELECT CURRENT_USER(), CURRENT_ROLE()", 30.0, {}, reads=True)
        return CheckResult(
            True, "credentials accepted", {"user_role": result["rows"][0] if result["rows"] else []}
        )

    @action("query")
    async def query(
        self,
        sql: Annotated[str, "One read-only statement (SELECT, WITH … SELECT, SHOW, DESCRIBE, EXPLAIN)."],
        bindings: Annotated[list[Any] | None, "Values for the `?` placeholders, in order."] = None,
        timeout_seconds: Timeout = 60.0,
        max_rows: Annotated[int, "Rows returned at most (all partitions are read up to this)."] = 1000,
    ) -> dict[str, Any]:
        """Run a read-only SQL query and return typed rows; a statement that may write is refused, not run."""
        statements = split_statements(sql)
        writes = [s.first or "?" for s in statements if not s.reads_only]
        if not statements or writes:
            what = f"it may write ({', '.join(writes)})" if writes else "it holds no statement"
            raise ConnectorInvalid(
                f"snowflake.query runs read-only SQL and {what}; use snowflake.execute (needs approval)",
                service=self.title,
            )
        if len(statements) > 1:
            raise ConnectorInvalid("snowflake.query takes one statement at a time", service=self.title)
        return await self._run(sql, timeout_seconds, _bindings(bindings), max_rows=max_rows, reads=True)

    @action("execute", SideEffect.WRITE)
    async def execute(
        self,
        statement: Annotated[
            str, "One SQL statement that may change data or schema (INSERT, MERGE, CREATE…)."
        ],
        bindings: Annotated[list[Any] | None, "Values for the `?` placeholders, in order."] = None,
        timeout_seconds: Timeout = 300.0,
    ) -> dict[str, Any]:
        """Run a SQL statement that writes; it goes through approvals, and a dry run shows it without sending."""
        if len(split_statements(statement)) != 1:
            raise ConnectorInvalid("snowflake.execute takes exactly one statement", service=self.title)
        return await self._run(statement, timeout_seconds, _bindings(bindings), reads=False)

    @action("cancel", SideEffect.WRITE)
    async def cancel(
        self, statement_handle: Annotated[str, "The running statement's handle."]
    ) -> dict[str, Any]:
        """Cancel a running statement."""
        body = await self.http.json("POST", f"/api/v2/statements/{statement_handle}/cancel", reads=False)
        return {"statement_handle": statement_handle, "message": (body or {}).get("message")}

    def _body(self, sql: str, timeout: float, bindings: dict[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {"statement": sql, "timeout": max(1, int(timeout))}
        for key in ("warehouse", "database", "schema", "role"):
            if self.options.get(key):
                body[key] = str(self.options[key])
        if bindings:
            body["bindings"] = bindings
        body["parameters"] = {"MULTI_STATEMENT_COUNT": "1"}
        return body

    async def _run(
        self, sql: str, timeout: float, bindings: dict[str, Any], *, reads: bool, max_rows: int = 1000
    ) -> dict[str, Any]:
        """POST the statement (a write is stopped there by a dry run), poll it, read its partitions."""
        params = {"async": "true", "nullable": "true", "requestId": str(uuid.uuid4())}
        first = await self.http.json(
            "POST", "/api/v2/statements", params=params, json=self._body(sql, timeout, bindings), reads=reads
        )
        handle = str(first["statementHandle"])
        try:
            result = await self._wait(handle, first, timeout)
        except (asyncio.CancelledError, ConnectorUnavailable):
            await asyncio.shield(self._cancel_quietly(handle))
            raise
        return await self._rows(handle, result, max_rows)

    async def _wait(self, handle: str, body: dict[str, Any], timeout: float) -> dict[str, Any]:
        waited, delay = 0.0, 0.25
        while body.get("code") == _ACCEPTED or "resultSetMetaData" not in body:
            if waited >= timeout:
                raise ConnectorUnavailable(
                    f"Snowflake statement {handle} ran past {timeout:.0f} s and was cancelled",
                    service=self.title,
                    retryable=False,
                )
            await self._sleep(delay)
            waited += delay
            delay = min(delay * 2, 2.0)
            body = await self.http.json("GET", f"/api/v2/statements/{handle}")
        return body

    async def _cancel_quietly(self, handle: str) -> None:
        try:
            await self.cancel(handle)
        except Exception:  # noqa: BLE001 - the statement may have ended meanwhile; the first error is the one to show
            return

    async def _rows(self, handle: str, result: dict[str, Any], max_rows: int) -> dict[str, Any]:
        meta = result["resultSetMetaData"]
        columns = [
            {"name": c["name"], "type": str(c.get("type", "text")).lower(), "scale": c.get("scale")}
            for c in meta.get("rowType", [])
        ]
        raw: list[list[Any]] = list(result.get("data") or [])
        partitions = len(meta.get("partitionInfo") or []) or 1
        for partition in range(1, partitions):
            if len(raw) >= max_rows:
                break
            page = await self.http.json(
                "GET", f"/api/v2/statements/{handle}", params={"partition": partition}
            )
            raw.extend(page.get("data") or [])
        total = int(meta.get("numRows", len(raw)))
        rows = [
            [json_value(snowflake_value(v, c)) for v, c in zip(row, columns, strict=False)] for row in raw
        ]
        return {
            "statement_handle": handle,
            "columns": [{"name": c["name"], "type": c["type"]} for c in columns],
            "rows": rows[:max_rows],
            "row_count": total,
            "truncated": total > max_rows,
            "partitions": partitions,
        }


def _bindings(values: list[Any] | None) -> dict[str, Any]:
    """Positional values as the SQL API's `bindings` ({"1": {"type": "FIXED", "value": "5"}, …})."""
    found: dict[str, Any] = {}
    for index, value in enumerate(values or [], start=1):
        if isinstance(value, bool):
            kind, text = "BOOLEAN", str(value).lower()
        elif isinstance(value, int):
            kind, text = "FIXED", str(value)
        elif isinstance(value, float):
            kind, text = "REAL", repr(value)
        elif value is None:
            kind, text = "TEXT", None
        else:
            kind, text = "TEXT", str(value)
        found[str(index)] = {"type": kind, "value": text}
    return found


def snowflake_value(value: str | None, column: dict[str, Any]) -> Any:
    """A jsonv2 cell (always text) as its Python value, by the column's Snowflake type."""
    if value is None:
        return None
    kind, scale = column["type"], int(column.get("scale") or 0)
    if kind == "fixed":
        return int(value) if scale == 0 and "." not in value else decimal.Decimal(value)
    if kind in ("real", "float", "double"):
        return float(value)
    if kind == "boolean":
        return value.lower() in ("true", "1")
    if kind in ("date", "time", "timestamp_ntz", "timestamp_ltz", "timestamp_tz"):
        return _temporal(value, kind)
    if kind in ("variant", "object", "array"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    if kind == "binary":
        return base64.b16decode(value.upper())
    return value


def _temporal(value: str, kind: str) -> dt.date | dt.time | dt.datetime:
    """DATE is days since the epoch, TIME seconds since midnight, TIMESTAMP_* `seconds.fraction` since the epoch
    (TIMESTAMP_TZ adds ` <offset minutes + 1440>`)."""
    if kind == "date":
        return _EPOCH + dt.timedelta(days=int(value))
    if kind == "time":
        return (dt.datetime.min + dt.timedelta(seconds=float(value))).time()
    seconds, _, offset = value.partition(" ")
    moment = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=float(decimal.Decimal(seconds)))
    if kind == "timestamp_ntz":
        return moment.replace(tzinfo=None)
    if kind == "timestamp_tz" and offset:
        return moment.astimezone(dt.timezone(dt.timedelta(minutes=int(offset) - 1440)))
    return moment
