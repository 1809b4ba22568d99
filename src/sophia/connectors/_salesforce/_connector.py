"""Salesforce REST API + SOQL: accounts, contacts, opportunities and their stage history, tasks, events, notes,
cases, users; create and update any sObject, move an opportunity to a stage.

Auth: the OAuth JWT bearer flow (`credentials.client_id` + `credentials.private_key`, `options.username`) or the
refresh-token flow (`client_id`, `client_secret`, `refresh_token`); the token response's `instance_url` is where
the API lives. `base_url` is the login host (https://login.salesforce.com, test.salesforce.com for a sandbox).
Sync: SOQL `query` paged on `nextRecordsUrl`; incremental by `SystemModstamp` through `queryAll`, whose
`IsDeleted` rows are the deletions since the last sync.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

from sophia.connectors._auth import Auth, Resolve
from sophia.connectors._cursor import decode_cursor, encode_cursor, parse_time
from sophia.connectors._errors import ConnectorInvalid
from sophia.connectors._model import CheckResult, Connector, Credential, action
from sophia.connectors._salesforce._auth import SalesforceSession
from sophia.connectors._salesforce._mapping import STREAMS, business_of, fields_of
from sophia.connectors._sync import SyncPage, SyncRecord
from sophia.secrets import SecretResolver
from sophia.tools import SideEffect

__all__ = ["API_VERSION", "Salesforce"]

API_VERSION = "v60.0"
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,79}$")
_ID = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$")


def _checked(value: str, pattern: re.Pattern[str], what: str) -> str:
    if not pattern.match(value):
        raise ConnectorInvalid(f"Salesforce: {value[:40]!r} is not a valid {what}", service="Salesforce")
    return value


def _soql_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Salesforce(Connector):
    kind = "salesforce"
    title = "Salesforce"
    group = "business"
    default_base_url = "https://login.salesforce.com"
    docs_url = "https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/"
    credentials = (
        Credential("client_id", "the connected app's consumer key"),
        Credential("private_key", "the connected app's certificate key, PEM (JWT bearer flow)", False),
        Credential("client_secret", "the connected app's consumer secret (refresh-token flow)", False),
        Credential("refresh_token", "a refresh token of the connected app (refresh-token flow)", False),
    )
    _session: SalesforceSession

    def build_auth(self, resolve: Resolve, secrets: SecretResolver) -> Auth:
        """JWT bearer when a private key is configured (with options.username), else the refresh token."""
        jwt = "private_key" in self.settings.credentials
        if jwt and not self.options.get("username"):
            raise ConnectorInvalid(
                f"{self.name}: the JWT bearer flow needs options.username (the user the app acts as)",
                service=self.title,
            )
        self._session = SalesforceSession(
            self.name,
            self.http.base_url,
            resolve,
            lambda: self.http.client,
            username=str(self.options["username"]) if jwt else None,
        )
        return self._session

    async def _api(self, path: str) -> str:
        return f"{await self._session.instance_url()}/services/data/{API_VERSION}{path}"

    async def check(self) -> CheckResult:
        body = await self.http.json("GET", await self._api("/limits"))
        daily = body.get("DailyApiRequests") or {}
        return CheckResult(True, "session granted", {"api_requests_remaining": daily.get("Remaining")})

    # -- SOQL ---------------------------------------------------------------------------------------------

    async def _query_page(self, soql: str | None, next_url: str | None, *, all_rows: bool) -> dict[str, Any]:
        if next_url:
            host = await self._session.instance_url()
            body: dict[str, Any] = await self.http.json("GET", f"{host}{next_url}")
        else:
            endpoint = "/queryAll" if all_rows else "/query"
            body = await self.http.json("GET", await self._api(endpoint), params={"q": soql})
        return body

    @action("soql.query")
    async def query(
        self,
        soql: Annotated[str, "A SOQL SELECT, e.g. SELECT Id, Name FROM Account WHERE Industry = 'Retail'."],
        limit: Annotated[int, "How many records at most (all pages up to this)."] = 200,
    ) -> list[dict[str, Any]]:
        """Run a SOQL query (read-only), following nextRecordsUrl up to `limit` records."""
        if not soql.lstrip().lower().startswith("select"):
            raise ConnectorInvalid("Salesforce: soql.query runs SELECT statements only", service=self.title)
        found: list[dict[str, Any]] = []
        body = await self._query_page(soql, None, all_rows=False)
        while True:
            found.extend({k: v for k, v in r.items() if k != "attributes"} for r in body.get("records", []))
            if body.get("done", True) or len(found) >= limit or not body.get("nextRecordsUrl"):
                return found[:limit]
            body = await self._query_page(None, body["nextRecordsUrl"], all_rows=False)

    # -- sync ---------------------------------------------------------------------------------------------

    def sync_streams(self) -> Sequence[str]:
        return tuple(STREAMS)

    def _soql(self, stream: str, since: str | None) -> str:
        spec = STREAMS.get(stream)
        if spec is None:
            raise ConnectorInvalid(f"Salesforce: no stream {stream[:40]!r}; one of {', '.join(STREAMS)}")
        fields = fields_of(spec, self.options)
        if since:
            fields.append("IsDeleted")
        where = f" WHERE SystemModstamp >= {since}" if since else ""
        return f"SELECT {', '.join(fields)} FROM {spec.sobject}{where} ORDER BY SystemModstamp, Id"

    async def sync_page(self, stream: str, cursor: str | None, *, since: datetime | None) -> SyncPage:
        state = decode_cursor(cursor, "Salesforce")
        start = state.get("since") or (_soql_time(since) if since else None)
        soql = None if state.get("next") else self._soql(stream, start)
        body = await self._query_page(soql, state.get("next"), all_rows=bool(start))
        instance = await self._session.instance_url()
        records = [self._record(stream, r, instance) for r in body.get("records", [])]
        nxt = body.get("nextRecordsUrl")
        if body.get("done", True) or not nxt:
            return SyncPage(records, None, True)
        return SyncPage(records, encode_cursor(next=nxt, since=start), False)

    def _record(self, stream: str, row: dict[str, Any], instance: str) -> SyncRecord:
        data = {k: v for k, v in row.items() if k != "attributes"}
        title = str(
            data.get("Name") or data.get("Subject") or data.get("Title") or data.get("MasterLabel") or ""
        )
        title = title or f"{STREAMS[stream].sobject} {data['Id']}"
        shown = "; ".join(f"{k}: {str(v)[:300]}" for k, v in sorted(data.items()) if v not in (None, ""))
        return SyncRecord(
            stream=stream,
            id=str(data["Id"]),
            updated_at=parse_time(data.get("SystemModstamp")) or datetime.now(UTC),
            title=title[:200],
            text=f"Salesforce {STREAMS[stream].sobject} {title}. {shown}",
            url=f"{instance}/{data['Id']}",
            data=data,
            deleted=bool(data.get("IsDeleted")),
        )

    async def sync_live_ids(self, stream: str) -> set[str] | None:
        spec = STREAMS.get(stream)
        if spec is None:
            return None
        ids: set[str] = set()
        body = await self._query_page(f"SELECT Id FROM {spec.sobject}", None, all_rows=False)
        while True:
            ids.update(str(r["Id"]) for r in body.get("records", []))
            if body.get("done", True) or not body.get("nextRecordsUrl"):
                return ids
            body = await self._query_page(None, body["nextRecordsUrl"], all_rows=False)

    def to_business(self, record: SyncRecord) -> Sequence[object]:
        instance = record.url.rsplit("/", 1)[0] if record.url else None
        return business_of(
            record.stream, record.data, record.updated_at, source=self.name, instance_url=instance,
            options=self.options,
        )  # fmt: skip

    # -- writes ---------------------------------------------------------------------------------------------

    @action("sobjects.create", SideEffect.WRITE)
    async def create(
        self,
        sobject: Annotated[
            str, "The object's API name: Task, Account, Opportunity, a custom My_Object__c, …"
        ],
        fields: Annotated[dict[str, Any], "Field API name → value."],
    ) -> dict[str, Any]:
        """Create a record; returns its id."""
        if not fields:
            raise ConnectorInvalid(
                "Salesforce: give at least one field to create a record", service=self.title
            )
        path = await self._api(f"/sobjects/{_checked(sobject, _NAME, 'sObject name')}/")
        body = await self.http.json("POST", path, json=fields)
        return {"id": body.get("id"), "success": body.get("success", True)}

    @action("sobjects.update", SideEffect.WRITE)
    async def update(
        self,
        sobject: Annotated[str, "The object's API name."],
        record_id: Annotated[str, "The record's 15- or 18-character id."],
        fields: Annotated[dict[str, Any], "Only the fields to change."],
    ) -> dict[str, Any]:
        """Change some fields of a record."""
        if not fields:
            raise ConnectorInvalid(f"Salesforce: nothing to change on {record_id[:20]}", service=self.title)
        name, checked = _checked(sobject, _NAME, "sObject name"), _checked(record_id, _ID, "record id")
        await self.http.request("PATCH", await self._api(f"/sobjects/{name}/{checked}"), json=fields)
        return {"id": checked, "updated": sorted(fields)}

    @action("tasks.create", SideEffect.WRITE)
    async def create_task(
        self,
        subject: Annotated[str, "The task's subject."],
        what_id: Annotated[str | None, "The account or opportunity it concerns."] = None,
        who_id: Annotated[str | None, "The contact or lead it concerns."] = None,
        description: Annotated[str | None, "Details."] = None,
        due_date: Annotated[str | None, "Due date, YYYY-MM-DD."] = None,
        priority: Annotated[str, "High, Normal or Low."] = "Normal",
    ) -> dict[str, Any]:
        """Create a to-do (Task) for the connected user, on an account, opportunity or contact."""
        if priority not in ("High", "Normal", "Low"):
            raise ConnectorInvalid(
                "Salesforce: task priority must be High, Normal or Low", service=self.title
            )
        fields = {"Subject": subject, "WhatId": what_id, "WhoId": who_id, "Description": description,
                  "ActivityDate": due_date, "Priority": priority, "Status": "Not Started"}  # fmt: skip
        return await self.create("Task", {k: v for k, v in fields.items() if v is not None})

    @action("opportunities.set_stage", SideEffect.WRITE)
    async def set_stage(
        self,
        opportunity_id: Annotated[str, "The opportunity's id."],
        stage: Annotated[str, "The stage's name (see soql.query on OpportunityStage)."],
    ) -> dict[str, Any]:
        """Move an opportunity to a stage; the stage is checked against the org's active stages first."""
        stages = await self.query("SELECT ApiName, MasterLabel FROM OpportunityStage WHERE IsActive = true")
        names = {str(s["MasterLabel"]).lower(): str(s["ApiName"]) for s in stages}
        names.update({str(s["ApiName"]).lower(): str(s["ApiName"]) for s in stages})
        found = names.get(stage.lower())
        if found is None:
            raise ConnectorInvalid(
                f"Salesforce: no active opportunity stage {stage[:60]!r};"
                f" known: {', '.join(sorted(set(names.values())))}",
                service=self.title,
            )
        return await self.update("Opportunity", opportunity_id, {"StageName": found})
