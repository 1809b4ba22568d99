"""Airtable (api.airtable.com/v0): bases and table schemas (meta API), records (list with filterByFormula and
`offset`, create/update in batches of 10). Airtable allows 5 requests a second PER BASE: every call that names a
base waits on that base's own gate (`KeyedRateGates`), so two bases never slow each other.

Auth is a personal access token (`Authorization: Bearer pat…`). Syncable: each `options.tables` entry
("appXXXX/Table name") is a stream of records kept in memory (they have no fixed business meaning).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote

from sophia.config import ConnectorSettings
from sophia.connectors._asana import asana_time
from sophia.connectors._errors import ConnectorInvalid, ConnectorRateLimited
from sophia.connectors._http import ConnectorHttp
from sophia.connectors._model import CheckResult, Connector, Credential, action
from sophia.connectors._paging import collect_cursor
from sophia.connectors._ratelimit import KeyedRateGates
from sophia.connectors._sync import SyncPage, SyncRecord
from sophia.tools import SideEffect

__all__ = ["Airtable", "batches"]

BATCH = 10
"""Airtable's documented maximum of records per create/update request."""
PER_BASE_RPS = 5.0
Base = Annotated[str, "The base id (appXXXXXXXXXXXXXX)."]
Table = Annotated[str, "The table's id (tblXXXX) or name."]


def batches(items: Sequence[Any], size: int = BATCH) -> list[list[Any]]:
    """`items` cut into lists of at most `size`, in order."""
    return [list(items[start : start + size]) for start in range(0, len(items), size)]


class Airtable(Connector):
    kind = "airtable"
    title = "Airtable"
    group = "data"
    default_base_url = "https://api.airtable.com/v0"
    docs_url = "https://airtable.com/developers/web/api/introduction"
    credentials = (Credential("token", "an Airtable personal access token (airtable.com/create/tokens)"),)

    def __init__(self, name: str, settings: ConnectorSettings, http: ConnectorHttp) -> None:
        super().__init__(name, settings, http)
        self.base_gates = KeyedRateGates(PER_BASE_RPS, max_wait=settings.max_rate_limit_wait_seconds)

    async def _call(self, base: str, method: str, path: str, **options: Any) -> Any:
        refused = await self.base_gates.wait(base)
        if refused:
            raise ConnectorRateLimited(
                f"Airtable base {base} is at its 5 requests/s limit for {refused:.0f} s; try later",
                service=self.title,
                retry_after=refused,
                retryable=False,
            )
        return await self.http.json(method, path, **options)

    async def check(self) -> CheckResult:
        body = await self.http.json("GET", "/meta/whoami")
        return CheckResult(True, "token accepted", {"user": body.get("id"), "scopes": body.get("scopes", [])})

    @action("bases.list")
    async def bases(self, limit: Annotated[int, "How many at most."] = 1000) -> list[dict[str, Any]]:
        """The bases the token can reach: id, name, permission level."""

        async def page(offset: str | None) -> tuple[list[dict[str, Any]], str | None]:
            body = await self.http.json("GET", "/meta/bases", params={"offset": offset} if offset else None)
            return list(body.get("bases") or []), body.get("offset")

        return [
            {"id": b["id"], "name": b.get("name"), "permission_level": b.get("permissionLevel")}
            for b in await collect_cursor(page, limit=limit)
        ]

    @action("tables.list")
    async def tables(self, base: Base) -> list[dict[str, Any]]:
        """A base's tables with their fields (name, type) and views: the schema, from the meta API."""
        body = await self._call(base, "GET", f"/meta/bases/{base}/tables")
        return [
            {
                "id": t["id"],
                "name": t.get("name"),
                "primary_field_id": t.get("primaryFieldId"),
                "fields": [
                    {"id": f["id"], "name": f.get("name"), "type": f.get("type")} for f in t.get("fields", [])
                ],
                "views": [
                    {"id": v["id"], "name": v.get("name"), "type": v.get("type")} for v in t.get("views", [])
                ],
            }
            for t in body.get("tables") or []
        ]

    @action("records.list")
    async def records(
        self,
        base: Base,
        table: Table,
        filter_by_formula: Annotated[
            str | None, "An Airtable formula; only records where it is true."
        ] = None,
        view: Annotated[str | None, "Only records in this view (id or name), in its order."] = None,
        fields: Annotated[list[str] | None, "Only these fields."] = None,
        limit: Annotated[int, "How many records at most."] = 1000,
    ) -> list[dict[str, Any]]:
        """A table's records (all pages up to `limit`): id, createdTime, fields."""
        found = await self._records(base, table, filter_by_formula, view, fields, limit)
        return [_record(r) for r in found]

    async def _records(
        self,
        base: str,
        table: str,
        formula: str | None,
        view: str | None,
        fields: list[str] | None,
        limit: int,
    ) -> list[dict[str, Any]]:
        async def page(offset: str | None) -> tuple[list[dict[str, Any]], str | None]:
            body = await self._list_page(base, table, offset, formula, view, fields, min(limit, 100))
            return list(body.get("records") or []), body.get("offset")

        return await collect_cursor(page, limit=limit)

    async def _list_page(
        self,
        base: str,
        table: str,
        offset: str | None,
        formula: str | None,
        view: str | None = None,
        fields: list[str] | None = None,
        size: int = 100,
    ) -> dict[str, Any]:
        params: list[tuple[str, Any]] = [("pageSize", size)]
        if offset:
            params.append(("offset", offset))
        if formula:
            params.append(("filterByFormula", formula))
        if view:
            params.append(("view", view))
        params.extend(("fields[]", name) for name in fields or [])
        body: dict[str, Any] = await self._call(
            base, "GET", f"/{base}/{quote(table, safe='')}", params=params
        )
        return body

    @action("records.create", SideEffect.WRITE)
    async def create(
        self,
        base: Base,
        table: Table,
        records: Annotated[list[dict[str, Any]], "Each record's fields ({field name: value}); any number."],
        typecast: Annotated[
            bool, "Let Airtable convert strings to the field types (and add select options)."
        ] = False,
    ) -> list[dict[str, Any]]:
        """Create records; more than 10 are sent as several requests of 10, in order."""
        if not records:
            raise ConnectorInvalid("give at least one record to create", service=self.title)
        return await self._batched(base, table, "POST", [{"fields": fields} for fields in records], typecast)

    @action("records.update", SideEffect.WRITE)
    async def update(
        self,
        base: Base,
        table: Table,
        records: Annotated[
            list[dict[str, Any]], 'Each {"id": "rec…", "fields": {…}}; only given fields change.'
        ],
        typecast: Annotated[bool, "Let Airtable convert strings to the field types."] = False,
    ) -> list[dict[str, Any]]:
        """Update records (PATCH: fields not given are kept); more than 10 go as several requests."""
        bad = [
            r
            for r in records
            if not str(r.get("id", "")).startswith("rec") or not isinstance(r.get("fields"), dict)
        ]
        if not records or bad:
            raise ConnectorInvalid(
                'each record to update needs {"id": "rec…", "fields": {…}}', service=self.title
            )
        return await self._batched(
            base, table, "PATCH", [{"id": r["id"], "fields": r["fields"]} for r in records], typecast
        )

    async def _batched(
        self, base: str, table: str, method: str, items: list[dict[str, Any]], typecast: bool
    ) -> list[dict[str, Any]]:
        done: list[dict[str, Any]] = []
        for batch in batches(items):
            body = await self._call(
                base,
                method,
                f"/{base}/{quote(table, safe='')}",
                json={"records": batch, "typecast": typecast},
            )
            done.extend(_record(r) for r in body.get("records") or [])
        return done

    # -- Syncable -----------------------------------------------------------------------------------------

    def sync_streams(self) -> Sequence[str]:
        return [str(t) for t in self.options.get("tables", [])]

    def _stream(self, stream: str) -> tuple[str, str]:
        base, _, table = stream.partition("/")
        if not (base.startswith("app") and table):
            raise ConnectorInvalid(
                f'Airtable stream {stream!r} must be "appXXXX/Table" (options.tables)', service=self.title
            )
        return base, table

    async def sync_page(self, stream: str, cursor: str | None, *, since: datetime | None) -> SyncPage:
        base, table = self._stream(stream)
        formula = None
        if since is not None:
            stamp = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
            formula = f"IS_AFTER(LAST_MODIFIED_TIME(), '{stamp}')"
        body = await self._list_page(base, table, cursor, formula)
        records = [self._sync_record(stream, base, table, r) for r in body.get("records") or []]
        offset = body.get("offset")
        return SyncPage(records, offset, not offset)

    async def sync_live_ids(self, stream: str) -> set[str] | None:
        base, table = self._stream(stream)
        found = await self._records(base, table, None, None, [], 1_000_000)
        return {str(r["id"]) for r in found}

    def _sync_record(self, stream: str, base: str, table: str, raw: dict[str, Any]) -> SyncRecord:
        fields: dict[str, Any] = raw.get("fields") or {}
        modified = self.options.get("modified_field")
        updated = asana_time(fields.get(str(modified))) if modified else None
        title = str(next(iter(fields.values()), raw["id"]))
        text = f"Airtable {table} record {title}: " + json.dumps(fields, default=str)[:1500]
        return SyncRecord(
            stream=stream,
            id=str(raw["id"]),
            updated_at=updated or asana_time(raw.get("createdTime")) or datetime.now(UTC),
            title=title,
            text=text,
            url=f"https://airtable.com/{base}/{quote(table, safe='')}/{raw['id']}",
            data=raw,
        )

    def to_business(self, record: SyncRecord) -> Sequence[object]:
        """Airtable tables have no fixed meaning, so records go to memory only."""
        return []


def _record(raw: dict[str, Any]) -> dict[str, Any]:
    return {"id": raw.get("id"), "created_time": raw.get("createdTime"), "fields": raw.get("fields", {})}
