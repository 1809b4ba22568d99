"""A HubSpot CRM v3 stand-in serving a generated business in HubSpot's documented shapes.

Objects (`/crm/v3/objects/{type}`, list + search + get + create + patch + batch read with
`propertiesWithHistory`), owners, deal pipelines, v4 association batch reads, `/oauth/v1/token`; paging on
`paging.next.after`; a 429 with `X-HubSpot-RateLimit-*` headers now and then; OAuth tokens that expire.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from sophia.business import Activity
from tests.business.generator import Business
from tests.business.standin_kit import Faults, page_of

__all__ = ["PRIVATE_TOKEN", "REFRESH_TOKEN", "HubSpotData", "hubspot_app"]

PRIVATE_TOKEN = "pat-na1-fake-standin-token"
REFRESH_TOKEN = "hs-refresh-5ecret"
CLIENT_ID, CLIENT_SECRET = "hs-client", "hs-client-5ecret"
_KIND_TYPES = {"note": "notes", "email": "emails", "meeting": "meetings", "task": "tasks", "call": "calls",
               "ticket": "tickets"}  # fmt: skip
_PRIORITY = {"P1": "HIGH", "P2": "MEDIUM", "P3": "LOW", "P4": "LOW"}
_DEFAULTS = ("hs_object_id", "createdate", "hs_lastmodifieddate", "lastmodifieddate")
_MAX_PAGE = 100


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


class HubSpotData:
    """The business as HubSpot objects; `ids` maps a generator id to its HubSpot id."""

    def __init__(self, business: Business) -> None:
        self.ids: dict[str, str] = {}
        kinds = ("companies", "contacts", "deals", *_KIND_TYPES.values())
        self.objects: dict[str, dict[str, dict[str, Any]]] = {kind: {} for kind in kinds}
        self.links: dict[tuple[str, str], dict[str, list[str]]] = {}
        self.history: dict[str, list[dict[str, Any]]] = {}
        serial = iter(range(10_001, 10_000_000))
        for source in (
            *business.reps,
            *business.accounts,
            *business.contacts,
            *business.deals,
            *business.activities,
        ):
            self.ids[source.source_id] = str(next(serial))
        self.owners = [
            {"id": self.ids[r.source_id], "email": r.email, "firstName": r.name.split(" ")[0],
             "lastName": " ".join(r.name.split(" ")[1:]), "userId": int(self.ids[r.source_id]) + 5,
             "createdAt": _iso(r.updated_at), "updatedAt": _iso(r.updated_at), "archived": False, "teams": []}
            for r in business.reps
        ]  # fmt: skip
        self.pipelines = [
            {
                "id": "default", "label": "Sales Pipeline", "displayOrder": 0, "archived": False,
                "createdAt": _iso(business.stages[0].updated_at), "updatedAt": _iso(business.stages[0].updated_at),
                "stages": [
                    {"id": s.stage, "label": s.label, "displayOrder": s.display_order, "archived": False,
                     "createdAt": _iso(s.updated_at), "updatedAt": _iso(s.updated_at),
                     "metadata": {"isClosed": str(s.is_closed).lower(), "probability": str(s.probability)}}
                    for s in business.stages
                ],
            }
        ]  # fmt: skip
        for a in business.accounts:
            self._put("companies", a.source_id, a.updated_at, a.created_at, {
                "name": a.name, "domain": a.domain, "industry": a.industry,
                "hubspot_owner_id": self.ids.get(a.owner_id or ""), "numberofemployees": _text(a.employees),
                "annualrevenue": _text(a.annual_revenue), "churn_date": _iso(a.churned_at)})  # fmt: skip
        for c in business.contacts:
            first, _, last = c.name.partition(" ")
            self._put("contacts", c.source_id, c.updated_at, c.created_at, {
                "firstname": first, "lastname": last, "email": c.email, "jobtitle": c.title,
                "hs_buying_role": "CHAMPION" if c.is_champion else None, "left_company_date": _iso(c.left_at)},
                companies=[c.account_id])  # fmt: skip
        stage_of = {s.stage: s for s in business.stages}
        for d in business.deals:
            self._put("deals", d.source_id, d.updated_at, d.created_at, {
                "dealname": d.name, "amount": _text(d.amount), "dealstage": d.stage, "pipeline": "default",
                "closedate": _iso(d.close_date), "hubspot_owner_id": self.ids.get(d.owner_id or ""),
                "hs_is_closed": str(d.is_closed).lower(), "hs_is_closed_won": str(d.is_won).lower(),
                "closed_lost_reason": d.lost_reason, "deal_currency_code": d.currency,
                "hs_deal_stage_probability": _text(stage_of[d.stage or ""].probability)},
                companies=[d.account_id])  # fmt: skip
        for change in business.deal_stages:
            self.history.setdefault(self.ids[change.deal_id], []).insert(0, {
                "value": change.stage, "timestamp": _iso(change.entered_at), "sourceType": "CRM_UI",
                "sourceId": "userId:101", "updatedByUserId": 101})  # fmt: skip
        for act in business.activities:
            self._activity(act)

    def _activity(self, act: Activity) -> None:
        kind = _KIND_TYPES[act.kind]
        owner = self.ids.get(act.owner_id or "")
        if kind == "tickets":
            props = {"subject": act.subject, "content": act.body, "hubspot_owner_id": owner,
                     "hs_ticket_priority": _PRIORITY.get(act.priority or ""), "hs_pipeline": "0",
                     "hs_pipeline_stage": "4" if act.status == "closed" else "1"}  # fmt: skip
            created = act.occurred_at
        else:
            prefix = {"notes": "hs_note", "calls": "hs_call", "emails": "hs_email", "meetings": "hs_meeting",
                      "tasks": "hs_task"}[kind]  # fmt: skip
            subject_key = {"emails": "hs_email_subject", "notes": None}.get(kind, f"{prefix}_title")
            subject_key = "hs_task_subject" if kind == "tasks" else subject_key
            body_key = "hs_email_text" if kind == "emails" else f"{prefix}_body"
            props = {body_key: act.body, "hs_timestamp": _iso(act.occurred_at), "hubspot_owner_id": owner}
            if subject_key:
                props[subject_key] = act.subject
            if kind == "tasks":
                props["hs_task_status"] = (act.status or "completed").upper()
            created = act.updated_at
        self._put(kind, act.source_id, act.updated_at, created, props, companies=[act.account_id],
                  contacts=[act.contact_id], deals=[act.deal_id])  # fmt: skip

    def _put(
        self,
        kind: str,
        source_id: str,
        updated: datetime,
        created: datetime | None,
        props: dict[str, Any],
        **links: list[str | None],
    ) -> None:
        object_id = self.ids[source_id]
        modified = "lastmodifieddate" if kind == "contacts" else "hs_lastmodifieddate"
        properties = {**props, "hs_object_id": object_id, "createdate": _iso(created or updated),
                      modified: _iso(updated)}  # fmt: skip
        self.objects[kind][object_id] = {
            "id": object_id, "properties": properties, "createdAt": _iso(created or updated),
            "updatedAt": _iso(updated), "archived": False}  # fmt: skip
        for to, targets in links.items():
            found = [self.ids[t] for t in targets if t]
            if found:
                self.links[(kind, object_id)] = {**self.links.get((kind, object_id), {}), to: found}

    def live(self, kind: str) -> list[dict[str, Any]]:
        return [o for o in self.objects[kind].values() if not o["archived"]]

    def archive(self, kind: str, source_id: str) -> None:
        """Delete a record the way HubSpot does (it leaves the default listing)."""
        self.objects[kind][self.ids[source_id]]["archived"] = True

    def touch(self, kind: str, source_id: str, at: datetime, **props: Any) -> None:
        record = self.objects[kind][self.ids[source_id]]
        modified = "lastmodifieddate" if kind == "contacts" else "hs_lastmodifieddate"
        record["properties"].update(props, **{modified: _iso(at)})
        record["updatedAt"] = _iso(at)


def _shown(record: dict[str, Any], wanted: list[str] | None) -> dict[str, Any]:
    if wanted is None:
        return record
    keep = set(wanted) | set(_DEFAULTS)
    return {**record, "properties": {k: v for k, v in record["properties"].items() if k in keep}}


def _error(status: int, message: str, category: str, **extra: Any) -> JSONResponse:
    body = {"status": "error", "message": message, "correlationId": str(uuid.uuid4()), "category": category}
    return JSONResponse(body | extra, status_code=status)


def _paged(results: list[Any], after: str | None, limit: int) -> dict[str, Any]:
    chunk, nxt = page_of(results, after, min(limit, _MAX_PAGE))
    body: dict[str, Any] = {"results": chunk}
    if nxt is not None:
        body["paging"] = {"next": {"after": nxt, "link": f"?after={nxt}"}}
    return body


def _search_filter(record: dict[str, Any], group: dict[str, Any]) -> bool:
    for f in group.get("filters", []):
        value = record["properties"].get(f["propertyName"])
        if f["operator"] == "GTE":
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None
            if moment is None or moment.timestamp() * 1000 < float(f["value"]):
                return False
        elif f["operator"] == "EQ" and str(value) != str(f["value"]):
            return False
    return True


def hubspot_app(data: HubSpotData, faults: Faults) -> FastAPI:  # noqa: C901 - one route table
    app = FastAPI()

    @app.middleware("http")
    async def gate(request: Request, call_next: Any) -> Response:
        if request.url.path == "/oauth/v1/token":
            return await call_next(request)  # type: ignore[no-any-return]
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if not faults.accept(token, PRIVATE_TOKEN):
            return _error(401, "The OAuth token used to make this call expired 1 second(s) ago.",
                          "EXPIRED_AUTHENTICATION")  # fmt: skip
        if faults.throttle():
            response = _error(429, "You have reached your secondly limit.", "RATE_LIMITS",
                              errorType="RATE_LIMIT", policyName="SECONDLY")  # fmt: skip
            response.headers.update({"X-HubSpot-RateLimit-Interval-Milliseconds": "1000",
                                     "X-HubSpot-RateLimit-Max": "100", "X-HubSpot-RateLimit-Remaining": "0",
                                     "X-HubSpot-RateLimit-Secondly": "10",
                                     "X-HubSpot-RateLimit-Secondly-Remaining": "0"})  # fmt: skip
            return response
        if (
            request.method in ("POST", "PATCH")
            and "/search" not in request.url.path
            and "/batch/" not in request.url.path
        ):
            faults.traffic.writes.append((request.method, request.url.path, await request.json()))
        return await call_next(request)  # type: ignore[no-any-return]

    @app.post("/oauth/v1/token")
    async def token(request: Request) -> JSONResponse:
        form = await request.form()
        if form.get("grant_type") != "refresh_token" or (
            form.get("client_id"),
            form.get("client_secret"),
        ) != (
            CLIENT_ID,
            CLIENT_SECRET,
        ):
            return JSONResponse({"status": "BAD_CLIENT_ID", "message": "missing or unknown client id"}, 400)
        if form.get("refresh_token") != REFRESH_TOKEN:
            return JSONResponse(
                {"status": "BAD_REFRESH_TOKEN", "message": "missing or invalid refresh token"}, 400
            )
        return JSONResponse(
            {
                "token_type": "bearer",
                "refresh_token": REFRESH_TOKEN,
                "access_token": faults.issue("hs-at"),
                "expires_in": 1800,
            }  # fmt: skip
        )

    @app.get("/crm/v3/owners/")
    @app.get("/crm/v3/owners")
    async def owners(limit: int = 100, after: str | None = None) -> dict[str, Any]:
        return _paged(data.owners, after, limit)

    @app.get("/crm/v3/pipelines/deals")
    async def pipelines() -> dict[str, Any]:
        return {"results": data.pipelines}

    def _known(kind: str) -> JSONResponse | None:
        if kind in data.objects:
            return None
        return _error(400, f"Unable to infer object type from: {kind}", "VALIDATION_ERROR")

    @app.get("/crm/v3/objects/{kind}")
    async def listing(
        kind: str, limit: int = 10, after: str | None = None, properties: str | None = None
    ) -> Any:
        wanted = properties.split(",") if properties else []
        return _known(kind) or _paged([_shown(o, wanted) for o in data.live(kind)], after, limit)

    @app.get("/crm/v3/objects/{kind}/{object_id}")
    async def one(kind: str, object_id: str, properties: str | None = None) -> Any:
        found = data.objects.get(kind, {}).get(object_id)
        if found is None or found["archived"]:
            return _error(404, "Object not found.  objectId are usually numeric.", "OBJECT_NOT_FOUND")
        return _shown(found, properties.split(",") if properties else [])

    @app.post("/crm/v3/objects/{kind}/search")
    async def search(kind: str, request: Request) -> Any:
        query = await request.json()
        records = data.live(kind)
        groups = query.get("filterGroups") or []
        hits = [r for r in records if not groups or any(_search_filter(r, g) for g in groups)]
        for sort in reversed(query.get("sorts") or []):
            hits.sort(key=lambda r: str(r["properties"].get(sort["propertyName"]) or ""),
                      reverse=sort.get("direction") == "DESCENDING")  # fmt: skip
        body = _paged([_shown(h, query.get("properties") or []) for h in hits], query.get("after"),
                      int(query.get("limit", 10)))  # fmt: skip
        return {"total": len(hits), **body}

    @app.post("/crm/v3/objects/deals/batch/read")
    async def batch_read(request: Request) -> Any:
        query = await request.json()
        results = []
        for item in query.get("inputs", []):
            found = data.objects["deals"].get(str(item["id"]))
            if found is None:
                continue
            shown = _shown(found, query.get("properties") or [])
            if "dealstage" in (query.get("propertiesWithHistory") or []):
                shown = {**shown, "propertiesWithHistory": {"dealstage": data.history.get(found["id"], [])}}
            results.append(shown)
        now = _iso(datetime.now(UTC))
        return {"status": "COMPLETE", "results": results, "startedAt": now, "completedAt": now}

    @app.post("/crm/v4/associations/{kind}/{to}/batch/read")
    async def associations(kind: str, to: str, request: Request) -> Any:
        query = await request.json()
        results, errors = [], []
        for item in query.get("inputs", []):
            targets = data.links.get((kind, str(item["id"])), {}).get(to, [])
            if not targets:
                errors.append({"status": "error", "category": "OBJECT_NOT_FOUND", "subCategory":
                               "crm.associations.NO_ASSOCIATIONS_FOUND", "context": {"fromObjectId": [item["id"]]},
                               "message": f"No {to} is associated with {kind} {item['id']}."})  # fmt: skip
                continue
            results.append({"from": {"id": str(item["id"])}, "to": [
                {"toObjectId": int(t), "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": 1,
                                                             "label": None}]} for t in targets]})  # fmt: skip
        now = _iso(datetime.now(UTC))
        body: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": now,
            "completedAt": now,
        }
        if errors:
            body |= {"numErrors": len(errors), "errors": errors}
        return JSONResponse(body, status_code=207 if errors else 200)

    @app.post("/crm/v3/objects/{kind}")
    async def create(kind: str, request: Request) -> Any:
        if (bad := _known(kind)) is not None:
            return bad
        body = await request.json()
        object_id = str(90_000_000 + len(data.objects[kind]))
        now = _iso(datetime.now(UTC))
        record = {"id": object_id, "properties": {**body.get("properties", {}), "hs_object_id": object_id,
                  "hs_lastmodifieddate": now, "createdate": now}, "createdAt": now, "updatedAt": now,
                  "archived": False}  # fmt: skip
        data.objects[kind][object_id] = record
        return JSONResponse(record, status_code=201)

    @app.patch("/crm/v3/objects/{kind}/{object_id}")
    async def update(kind: str, object_id: str, request: Request) -> Any:
        found = data.objects.get(kind, {}).get(object_id)
        if found is None:
            return _error(404, "Object not found.  objectId are usually numeric.", "OBJECT_NOT_FOUND")
        changes = (await request.json()).get("properties", {})
        stages = {s["id"] for p in data.pipelines for s in p["stages"]}
        if kind == "deals" and "dealstage" in changes and changes["dealstage"] not in stages:
            return _error(400, "Property values were not valid", "VALIDATION_ERROR")
        found["properties"].update(changes)
        found["updatedAt"] = _iso(datetime.now(UTC))
        return found

    return app
