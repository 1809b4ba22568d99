"""Neon (console.neon.tech/api/v2): projects, branches (also from a point in time), endpoints, roles, connection
URIs, and SQL on a branch through asyncpg.

A connection URI carries the role's password: it is registered with the redactor and shown as `…:[redacted]@…`
unless the caller asks with `reveal=True`. `neon.sql` runs in a READ ONLY transaction (PostgreSQL itself refuses
any write); `neon.sql_write` is the separate WRITE action. Both set `statement_timeout`.
Neon documents a rate limit of 700 requests a minute (bursts of 40 a second); 429s carry Retry-After.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Annotated, Any

import httpx

from sophia.connectors._dryrun import DryRunStop, RequestPreview, current_call
from sophia.connectors._errors import ConnectorInvalid, ConnectorNotConfigured
from sophia.connectors._model import CheckResult, Connector, Credential, action
from sophia.connectors._paging import collect_cursor
from sophia.observability import redactor
from sophia.tools import SideEffect

__all__ = ["Neon", "json_value", "redact_uri"]

_MAX_ROWS = 1000


class Neon(Connector):
    kind = "neon"
    title = "Neon"
    group = "infra"
    default_base_url = "https://console.neon.tech/api/v2"
    docs_url = "https://api-docs.neon.tech/reference/getting-started-with-neon-api"
    credentials = (Credential("token", "a Neon API key (Account settings → API keys)"),)

    async def check(self) -> CheckResult:
        body = await self.http.json("GET", "/projects", params={"limit": 1})
        return CheckResult(True, "API key accepted", {"projects_seen": len(body.get("projects", []))})

    @action("projects.list")
    async def projects(
        self,
        search: Annotated[str | None, "Only projects whose name or id contains this."] = None,
        limit: Annotated[int, "How many projects at most."] = 100,
    ) -> list[dict[str, Any]]:
        """Your Neon projects (all pages, up to `limit`)."""

        async def page(cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
            params: dict[str, Any] = {"limit": min(limit, 400)}
            if cursor:
                params["cursor"] = cursor
            if search:
                params["search"] = search
            body = await self.http.json("GET", "/projects", params=params)
            items = body.get("projects", [])
            return items, (body.get("pagination") or {}).get("cursor") if items else None

        found = await collect_cursor(page, limit=limit)
        return [
            _pick(p, "id", "name", "region_id", "pg_version", "created_at", "branch_logical_size_limit")
            for p in found
        ]

    @action("branches.list")
    async def branches(
        self,
        project_id: Annotated[str, "The project's id."],
        search: Annotated[str | None, "Only branches whose name or id contains this."] = None,
        limit: Annotated[int, "How many branches at most."] = 1000,
    ) -> list[dict[str, Any]]:
        """A project's branches (all pages, up to `limit`): id, name, parent, state, default/protected flags."""

        async def page(cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
            params: dict[str, Any] = {"limit": min(limit, 1000)}
            if cursor:
                params["cursor"] = cursor
            if search:
                params["search"] = search
            body = await self.http.json("GET", f"/projects/{project_id}/branches", params=params)
            items = body.get("branches", [])
            return items, (body.get("pagination") or {}).get("next") if items else None

        return [_branch(b) for b in await collect_cursor(page, limit=limit)]

    @action("branches.create", SideEffect.WRITE)
    async def create_branch(
        self,
        project_id: Annotated[str, "The project's id."],
        name: Annotated[str | None, "The new branch's name."] = None,
        parent_id: Annotated[str | None, "Parent branch id (default: the project's default branch)."] = None,
        parent_timestamp: Annotated[
            str | None, "Branch from this point in time (ISO 8601, e.g. 2026-12-01T12:00:00Z)."
        ] = None,
        parent_lsn: Annotated[str | None, "Branch from this log sequence number on the parent."] = None,
        with_endpoint: Annotated[bool, "Also create a read-write compute endpoint for it."] = True,
    ) -> dict[str, Any]:
        """Create a branch (copy-on-write), optionally from a point in time or an LSN of its parent."""
        if parent_timestamp and parent_lsn:
            raise ConnectorInvalid("give parent_timestamp or parent_lsn, not both", service=self.title)
        if parent_timestamp:
            _check_timestamp(parent_timestamp)
        branch = {
            key: value
            for key, value in (
                ("name", name),
                ("parent_id", parent_id),
                ("parent_timestamp", parent_timestamp),
                ("parent_lsn", parent_lsn),
            )
            if value
        }
        body: dict[str, Any] = {"branch": branch}
        if with_endpoint:
            body["endpoints"] = [{"type": "read_write"}]
        created = await self.http.json("POST", f"/projects/{project_id}/branches", json=body)
        return {
            "branch": _branch(created["branch"]),
            "endpoints": [_endpoint(e) for e in created.get("endpoints", [])],
            "operations": [_pick(o, "id", "action", "status") for o in created.get("operations", [])],
        }

    @action("branches.delete", SideEffect.DESTROY)
    async def delete_branch(
        self, project_id: Annotated[str, "The project's id."], branch_id: Annotated[str, "The branch's id."]
    ) -> dict[str, Any]:
        """Delete a branch and its data and endpoints for good."""
        body = await self.http.json("DELETE", f"/projects/{project_id}/branches/{branch_id}")
        return {"deleted": _branch(body["branch"]) if body else {"id": branch_id}}

    @action("endpoints.list")
    async def endpoints(self, project_id: Annotated[str, "The project's id."]) -> list[dict[str, Any]]:
        """A project's compute endpoints: host, branch, type, state."""
        body = await self.http.json("GET", f"/projects/{project_id}/endpoints")
        return [_endpoint(e) for e in body.get("endpoints", [])]

    @action("roles.list")
    async def roles(
        self, project_id: Annotated[str, "The project's id."], branch_id: Annotated[str, "The branch's id."]
    ) -> list[dict[str, Any]]:
        """The Postgres roles of a branch (never their passwords)."""
        body = await self.http.json("GET", f"/projects/{project_id}/branches/{branch_id}/roles")
        return [_pick(r, "name", "branch_id", "protected", "created_at") for r in body.get("roles", [])]

    @action("connection_uri.get")
    async def connection_uri(
        self,
        project_id: Annotated[str, "The project's id."],
        database_name: Annotated[str, "The database, e.g. neondb."],
        role_name: Annotated[str, "The role to connect as."],
        branch_id: Annotated[str | None, "The branch (default: the project's default branch)."] = None,
        pooled: Annotated[bool, "The pooled (PgBouncer) host."] = False,
        reveal: Annotated[
            bool, "Include the password (it is a secret; only when you must hand it on)."
        ] = False,
    ) -> dict[str, Any]:
        """A Postgres connection URI for a branch; the password is redacted unless `reveal` is set."""
        uri = await self._uri(project_id, database_name, role_name, branch_id, pooled)
        return {"uri": uri if reveal else redact_uri(uri), "password_redacted": not reveal}

    @action("sql")
    async def sql(
        self,
        project_id: Annotated[str, "The project's id."],
        query: Annotated[str, "One SQL statement; it runs READ ONLY (writes are refused by PostgreSQL)."],
        database_name: Annotated[str, "The database."],
        role_name: Annotated[str, "The role to connect as."],
        branch_id: Annotated[str | None, "The branch (default: the project's default branch)."] = None,
        args: Annotated[list[Any] | None, "Values for $1, $2, … placeholders."] = None,
        timeout_seconds: Annotated[float, "statement_timeout for the query."] = 30.0,
    ) -> dict[str, Any]:
        """Run a read-only SQL query on a branch and return typed rows (column names and Postgres types)."""
        uri = await self._uri(project_id, database_name, role_name, branch_id, False)
        return await run_sql(uri, query, args or [], timeout_seconds, read_only=True)

    @action("sql_write", SideEffect.WRITE)
    async def sql_write(
        self,
        project_id: Annotated[str, "The project's id."],
        statement: Annotated[str, "One SQL statement that may change data or schema."],
        database_name: Annotated[str, "The database."],
        role_name: Annotated[str, "The role to connect as."],
        branch_id: Annotated[str | None, "The branch (default: the project's default branch)."] = None,
        args: Annotated[list[Any] | None, "Values for $1, $2, … placeholders."] = None,
        timeout_seconds: Annotated[float, "statement_timeout for the statement."] = 30.0,
    ) -> dict[str, Any]:
        """Run a SQL statement that writes (INSERT, UPDATE, DDL…) on a branch, in its own transaction."""
        uri = await self._uri(project_id, database_name, role_name, branch_id, False)
        scope = current_call()
        if scope is not None and scope.dry_run:
            raise DryRunStop(
                RequestPreview("SQL", redact_uri(uri), {}, {"statement": statement, "args": args or []})
            )
        return await run_sql(uri, statement, args or [], timeout_seconds, read_only=False)

    async def _uri(
        self, project_id: str, database: str, role: str, branch_id: str | None, pooled: bool
    ) -> str:
        params: dict[str, Any] = {"database_name": database, "role_name": role, "pooled": str(pooled).lower()}
        if branch_id:
            params["branch_id"] = branch_id
        body = await self.http.json("GET", f"/projects/{project_id}/connection_uri", params=params)
        uri = str(body["uri"])
        password = httpx.URL(uri).password
        if password:
            redactor.add(password)
        return uri


async def run_sql(
    uri: str, query: str, args: list[Any], timeout: float, *, read_only: bool
) -> dict[str, Any]:
    """One statement in one transaction (READ ONLY when asked) with `statement_timeout`; typed, capped rows."""
    try:
        import asyncpg
    except ImportError:
        raise ConnectorNotConfigured("neon.sql needs asyncpg: pip install 'sophia[postgres]'") from None
    connection = await asyncpg.connect(uri, timeout=min(timeout, 30.0))
    try:
        async with connection.transaction(readonly=read_only):
            await connection.execute(f"SET LOCAL statement_timeout = {int(timeout * 1000)}")
            statement = await connection.prepare(query)
            columns = [{"name": a.name, "type": a.type.name} for a in statement.get_attributes()]
            if not columns:
                await statement.fetch(*args)
                return {"columns": [], "rows": [], "status": statement.get_statusmsg(), "truncated": False}
            records = await statement.fetch(*args)
    except asyncpg.PostgresError as error:
        message = redactor.redact(str(error))
        raise ConnectorInvalid(
            f"Neon SQL failed ({getattr(error, 'sqlstate', '')}): {message}", service="Neon"
        ) from None
    finally:
        await connection.close()
    rows = [[json_value(value) for value in record.values()] for record in records[:_MAX_ROWS]]
    return {
        "columns": columns,
        "rows": rows,
        "row_count": len(records),
        "truncated": len(records) > _MAX_ROWS,
    }


def json_value(value: Any) -> Any:
    """A Postgres value as JSON: numbers and strings as they are, decimals and UUIDs as text, times ISO 8601."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    return str(value)


def redact_uri(uri: str) -> str:
    """The URI with its password replaced by `[redacted]` (user, host, database and options kept)."""
    scheme, separator, rest = uri.partition("://")
    userinfo, at, host = rest.rpartition("@")
    user, colon, _ = userinfo.partition(":")
    if not (separator and at and colon):
        return uri
    return f"{scheme}://{user}:[redacted]@{host}"


def _check_timestamp(value: str) -> None:
    try:
        dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ConnectorInvalid(
            f"parent_timestamp {value!r} is not ISO 8601 (like 2026-12-01T12:00:00Z)", service="Neon"
        ) from None


def _pick(item: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {key: item.get(key) for key in keys}


def _branch(item: dict[str, Any]) -> dict[str, Any]:
    return _pick(
        item,
        "id",
        "name",
        "parent_id",
        "parent_lsn",
        "parent_timestamp",
        "current_state",
        "default",
        "protected",
        "created_at",
    )


def _endpoint(item: dict[str, Any]) -> dict[str, Any]:
    return _pick(item, "id", "host", "branch_id", "type", "current_state", "pooler_enabled", "region_id")
