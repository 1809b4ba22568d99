"""HubSpot CRM v3 (api.hubapi.com): companies, contacts, deals, pipelines, engagements, owners, tickets.

Auth: a private app's access token (`credentials.token`, Bearer) or an OAuth app's refresh token
(`credentials.client_id`, `client_secret`, `refresh_token`; tokens from `/oauth/v1/token`, kept in the vault).
Writes: create/update a note or a task, move a deal to a stage. Reads page on `paging.next.after`.
HubSpot answers a 429 with `X-HubSpot-RateLimit-*` headers and no Retry-After: the wait is the policy's interval.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

import httpx

from sophia.config import ConnectorSettings
from sophia.connectors._auth import Auth, OAuthRefresh, Resolve
from sophia.connectors._cursor import iso_z
from sophia.connectors._errors import ConnectorError, ConnectorInvalid, error_from_response
from sophia.connectors._http import ConnectorHttp
from sophia.connectors._hubspot._mapping import business_of
from sophia.connectors._hubspot._sync import HubSpotSync
from sophia.connectors._model import CheckResult, Connector, Credential, action
from sophia.connectors._sync import SyncPage, SyncRecord
from sophia.secrets import SecretResolver
from sophia.tools import SideEffect

__all__ = ["HubSpot", "hubspot_error"]

_TYPE_IDS = {
    "notes": {"contacts": 202, "companies": 190, "deals": 214},
    "tasks": {"contacts": 204, "companies": 192, "deals": 216},
}
"""HubSpot-defined association type ids (note/task → contact, company, deal)."""
_TASK_PRIORITIES = ("LOW", "MEDIUM", "HIGH")
_TASK_STATUSES = ("NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED", "DEFERRED")


def hubspot_error(service: str, response: httpx.Response, retry_after: float | None) -> ConnectorError:
    """A 429 without Retry-After waits for the policy's interval (`X-HubSpot-RateLimit-Interval-Milliseconds`)."""
    if response.status_code == 429 and retry_after is None:
        interval = response.headers.get("x-hubspot-ratelimit-interval-milliseconds")
        try:
            retry_after = float(interval) / 1000 if interval else 1.0
        except ValueError:
            retry_after = 1.0
    return error_from_response(service, response, retry_after)


class HubSpot(Connector):
    kind = "hubspot"
    title = "HubSpot"
    group = "business"
    default_base_url = "https://api.hubapi.com"
    docs_url = "https://developers.hubspot.com/docs/api/crm/understanding-the-crm"
    default_requests_per_second = 10.0
    credentials = (
        Credential("token", "a private app's access token (Settings → Integrations → Private apps)", False),
        Credential("client_id", "an OAuth app's client id (with client_secret and refresh_token)", False),
        Credential("client_secret", "the OAuth app's client secret", False),
        Credential("refresh_token", "a refresh token from the OAuth app's install", False),
    )

    def __init__(self, name: str, settings: ConnectorSettings, http: ConnectorHttp) -> None:
        super().__init__(name, settings, http)
        http._classify = hubspot_error
        portal = self.options.get("portal_id")
        self._sync = HubSpotSync(http, self.options)
        self._portal = str(portal) if portal else None

    def build_auth(self, resolve: Resolve, secrets: SecretResolver) -> Auth:
        """OAuth when a refresh token is configured, else the private app token."""
        if "refresh_token" not in self.settings.credentials:
            return super().build_auth(resolve, secrets)
        token_url = f"{self.http.base_url}/oauth/v1/token"
        return OAuthRefresh(self.name, token_url, resolve, lambda: secrets.backend, lambda: self.http.client)

    async def check(self) -> CheckResult:
        body = await self.http.json("GET", "/crm/v3/owners/", params={"limit": 1})
        return CheckResult(True, "token accepted", {"owners_seen": len(body.get("results", []))})

    # -- sync ---------------------------------------------------------------------------------------------

    def sync_streams(self) -> Sequence[str]:
        return self._sync.streams()

    async def sync_page(self, stream: str, cursor: str | None, *, since: datetime | None) -> SyncPage:
        return await self._sync.page(stream, cursor, since=since)

    async def sync_live_ids(self, stream: str) -> set[str] | None:
        return await self._sync.live_ids(stream)

    def to_business(self, record: SyncRecord) -> Sequence[object]:
        return business_of(
            record.stream,
            record.data,
            record.updated_at,
            source=self.name,
            portal=self._portal,
            stage_labels=self._sync.stage_labels,
            options=self.options,
        )

    # -- reads ----------------------------------------------------------------------------------------------

    @action("pipelines.list")
    async def pipelines(self) -> list[dict[str, Any]]:
        """The deal pipelines and their stages (id, label, probability, closed or not)."""
        body = await self.http.json("GET", "/crm/v3/pipelines/deals")
        return [
            {
                "id": p["id"],
                "label": p.get("label"),
                "stages": [
                    {"id": s["id"], "label": s.get("label"), **(s.get("metadata") or {})}
                    for s in p.get("stages") or []
                ],
            }
            for p in body.get("results", [])
        ]

    @action("objects.get")
    async def get_object(
        self,
        object_type: Annotated[
            str, "companies, contacts, deals, notes, tasks, calls, emails, meetings, tickets"
        ],
        object_id: Annotated[str, "The record's id."],
    ) -> dict[str, Any]:
        """One CRM record with the properties Sophia syncs."""
        return await self._sync.get(object_type, object_id)

    # -- writes ---------------------------------------------------------------------------------------------

    def _associations(
        self, kind: str, company_id: str | None, contact_id: str | None, deal_id: str | None
    ) -> list[dict[str, Any]]:
        targets = {"companies": company_id, "contacts": contact_id, "deals": deal_id}
        return [
            {
                "to": {"id": target},
                "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": t}],
            }
            for to, target in targets.items()
            if target
            for t in (_TYPE_IDS[kind][to],)
        ]

    async def _create(
        self, kind: str, properties: dict[str, Any], links: list[dict[str, Any]]
    ) -> dict[str, Any]:
        created = await self.http.json(
            "POST", f"/crm/v3/objects/{kind}", json={"properties": properties, "associations": links}
        )
        return {"id": created["id"], "properties": created.get("properties", {})}

    async def _update(self, kind: str, object_id: str, properties: dict[str, Any]) -> dict[str, Any]:
        if not properties:
            raise ConnectorInvalid(f"HubSpot: nothing to change on {kind} {object_id}", service=self.title)
        updated = await self.http.json(
            "PATCH", f"/crm/v3/objects/{kind}/{object_id}", json={"properties": properties}
        )
        return {"id": updated["id"], "properties": updated.get("properties", {})}

    @action("notes.create", SideEffect.WRITE)
    async def create_note(
        self,
        body: Annotated[str, "The note's text (HTML allowed)."],
        company_id: Annotated[str | None, "Attach to this company."] = None,
        contact_id: Annotated[str | None, "Attach to this contact."] = None,
        deal_id: Annotated[str | None, "Attach to this deal."] = None,
    ) -> dict[str, Any]:
        """Add a note to a company, contact or deal timeline."""
        properties = {"hs_note_body": body, "hs_timestamp": iso_z(datetime.now(UTC))}
        return await self._create(
            "notes", properties, self._associations("notes", company_id, contact_id, deal_id)
        )

    @action("notes.update", SideEffect.WRITE)
    async def update_note(
        self, note_id: Annotated[str, "The note's id."], body: Annotated[str, "The new text."]
    ) -> dict[str, Any]:
        """Replace a note's text."""
        return await self._update("notes", note_id, {"hs_note_body": body})

    @action("tasks.create", SideEffect.WRITE)
    async def create_task(
        self,
        subject: Annotated[str, "The task's title."],
        body: Annotated[str | None, "Details."] = None,
        due: Annotated[str | None, "Due time, ISO 8601 (default now)."] = None,
        priority: Annotated[str | None, "LOW, MEDIUM or HIGH."] = None,
        owner_id: Annotated[str | None, "The owner (HubSpot user) to assign."] = None,
        company_id: Annotated[str | None, "Attach to this company."] = None,
        contact_id: Annotated[str | None, "Attach to this contact."] = None,
        deal_id: Annotated[str | None, "Attach to this deal."] = None,
    ) -> dict[str, Any]:
        """Create a to-do for a rep, attached to a company, contact or deal."""
        if priority and priority.upper() not in _TASK_PRIORITIES:
            raise ConnectorInvalid(f"HubSpot: task priority must be one of {', '.join(_TASK_PRIORITIES)}")
        properties = {
            "hs_task_subject": subject,
            "hs_task_body": body,
            "hs_timestamp": due or iso_z(datetime.now(UTC)),
            "hs_task_status": "NOT_STARTED",
            "hs_task_priority": priority.upper() if priority else None,
            "hubspot_owner_id": owner_id,
        }
        clean = {k: v for k, v in properties.items() if v is not None}
        return await self._create(
            "tasks", clean, self._associations("tasks", company_id, contact_id, deal_id)
        )

    @action("tasks.update", SideEffect.WRITE)
    async def update_task(
        self,
        task_id: Annotated[str, "The task's id."],
        status: Annotated[str | None, "NOT_STARTED, IN_PROGRESS, WAITING, COMPLETED or DEFERRED."] = None,
        subject: Annotated[str | None, "A new title."] = None,
        body: Annotated[str | None, "New details."] = None,
    ) -> dict[str, Any]:
        """Change a task's status, title or details (only the fields given)."""
        if status and status.upper() not in _TASK_STATUSES:
            raise ConnectorInvalid(f"HubSpot: task status must be one of {', '.join(_TASK_STATUSES)}")
        properties = {
            "hs_task_status": status.upper() if status else None,
            "hs_task_subject": subject,
            "hs_task_body": body,
        }
        return await self._update("tasks", task_id, {k: v for k, v in properties.items() if v is not None})

    @action("deals.set_stage", SideEffect.WRITE)
    async def set_deal_stage(
        self,
        deal_id: Annotated[str, "The deal's id."],
        stage: Annotated[str, "The stage's id or label (see pipelines.list)."],
    ) -> dict[str, Any]:
        """Move a deal to a stage of its pipeline (the stage is checked against the pipelines first)."""
        stages = {s["id"]: s["id"] for p in await self.pipelines() for s in p["stages"]}
        stages.update({str(s["label"]).lower(): s["id"] for p in await self.pipelines() for s in p["stages"]})
        found = stages.get(stage) or stages.get(stage.lower())
        if found is None:
            raise ConnectorInvalid(
                f"HubSpot: no deal stage {stage[:60]!r}; known: {', '.join(sorted(set(stages.values())))}",
                service=self.title,
            )
        return await self._update("deals", deal_id, {"dealstage": found})
