"""A Salesforce REST stand-in serving a generated business as sObjects, in Salesforce's documented shapes.

`/services/oauth2/token` (refresh-token and JWT bearer grants, answering `instance_url`), SOQL on `/query` and
`/queryAll` (the subset the connector sends: SELECT fields FROM object [WHERE SystemModstamp >= t | IsActive =
true] [ORDER BY ...]) with `nextRecordsUrl` paging, sObject create/update, `/limits`. Errors are Salesforce's
list of `{message, errorCode}`; now and then a 503 SERVER_UNAVAILABLE; sessions expire (401 INVALID_SESSION_ID).
"""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from sophia.business import Activity
from tests.business.generator import Business
from tests.business.standin_kit import Faults

__all__ = ["CLIENT_ID", "CLIENT_SECRET", "REFRESH_TOKEN", "USERNAME", "SalesforceData", "salesforce_app"]

CLIENT_ID, CLIENT_SECRET = "3MVG9-fake-standin-consumer-key", "sf-consumer-fake-secret"
REFRESH_TOKEN, USERNAME = "5Aep861standin-refresh-5ecret", "integration@sophia-sales.example"
V = "/services/data/v60.0"
_PREFIX = {"User": "005", "Account": "001", "Contact": "003", "OpportunityStage": "01J", "Opportunity": "006",
           "OpportunityHistory": "008", "Task": "00T", "Event": "00U", "Note": "002", "Case": "500"}  # fmt: skip
_PRIORITY = {"P1": "High", "P2": "Medium", "P3": "Low", "P4": "Low"}
_SOQL = re.compile(
    r"^SELECT (?P<fields>.+?) FROM (?P<object>\w+)(?: WHERE (?P<where>.+?))?(?: ORDER BY (?P<order>.+))?$"
)
_BATCH = 50
"""Records per page (Salesforce's default is 2000; smaller here so a small business still pages)."""


def _dt(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def _errors(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse([{"message": message, "errorCode": code}], status_code=status)


class SalesforceData:
    """The business as sObjects by type; `ids` maps a generator id to its 18-character Salesforce id."""

    def __init__(self, business: Business) -> None:
        self.ids: dict[str, str] = {}
        self.objects: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in _PREFIX}
        self._serial = 0
        for r in business.reps:
            first, _, last = r.name.partition(" ")
            self._put("User", r.source_id, r.updated_at, Name=r.name, FirstName=first, LastName=last,
                      Email=r.email, Title=r.title, IsActive=r.active)  # fmt: skip
        for a in business.accounts:
            self._put("Account", a.source_id, a.updated_at, Name=a.name, Website=a.domain, Industry=a.industry,
                      OwnerId=self.ids.get(a.owner_id or ""), NumberOfEmployees=a.employees,
                      AnnualRevenue=a.annual_revenue, CreatedDate=_dt(a.created_at),
                      Churn_Date__c=_dt(a.churned_at))  # fmt: skip
        for c in business.contacts:
            first, _, last = c.name.partition(" ")
            self._put("Contact", c.source_id, c.updated_at, Name=c.name, FirstName=first, LastName=last,
                      Email=c.email, AccountId=self.ids[c.account_id or ""], Title=c.title,
                      Champion__c=c.is_champion, Left_Company_Date__c=_dt(c.left_at),
                      CreatedDate=_dt(c.created_at))  # fmt: skip
        for s in business.stages:
            self._put("OpportunityStage", s.source_id, s.updated_at, ApiName=s.label, MasterLabel=s.label,
                      SortOrder=s.display_order + 1, IsClosed=s.is_closed, IsWon=s.is_won, IsActive=True,
                      DefaultProbability=round((s.probability or 0) * 100))  # fmt: skip
        labels = {s.stage: s.label for s in business.stages}
        for d in business.deals:
            self._put("Opportunity", d.source_id, d.updated_at, Name=d.name, AccountId=self.ids[d.account_id or ""],
                      OwnerId=self.ids.get(d.owner_id or ""), StageName=d.stage_label,
                      Probability=round((d.probability or 0) * 100), Amount=d.amount,
                      CloseDate=d.close_date.date().isoformat() if d.close_date else None,
                      CreatedDate=_dt(d.created_at), IsClosed=d.is_closed, IsWon=d.is_won,
                      Loss_Reason__c=d.lost_reason)  # fmt: skip
        for h in business.deal_stages:
            self._put("OpportunityHistory", h.source_id, h.entered_at, OpportunityId=self.ids[h.deal_id],
                      StageName=labels[h.stage], CreatedDate=_dt(h.entered_at))  # fmt: skip
        for act in business.activities:
            self._activity(act)

    def _activity(self, act: Activity) -> None:
        who, what = self.ids.get(act.contact_id or ""), self.ids.get(act.deal_id or "")
        owner, account = self.ids.get(act.owner_id or ""), self.ids.get(act.account_id or "")
        common = {"Subject": act.subject, "Description": act.body, "OwnerId": owner}
        if act.kind == "ticket":
            self._put("Case", act.source_id, act.updated_at, **common, AccountId=account, ContactId=who,
                      Priority=_PRIORITY.get(act.priority or ""), IsClosed=act.status == "closed",
                      Status="Closed" if act.status == "closed" else "New",
                      CreatedDate=_dt(act.occurred_at))  # fmt: skip
        elif act.kind == "meeting":
            self._put("Event", act.source_id, act.updated_at, **common, AccountId=account, WhoId=who,
                      WhatId=what or account, StartDateTime=_dt(act.occurred_at))  # fmt: skip
        elif act.kind == "note":
            self._put("Note", act.source_id, act.updated_at, Title=act.subject, Body=act.body, OwnerId=owner,
                      ParentId=account, CreatedDate=_dt(act.occurred_at))  # fmt: skip
        else:
            subtype = {"call": "Call", "email": "Email"}.get(act.kind, "Task")
            self._put("Task", act.source_id, act.updated_at, **common, AccountId=account, WhoId=who,
                      WhatId=what or account, TaskSubtype=subtype, Status="Completed", Priority="Normal",
                      CompletedDateTime=_dt(act.occurred_at), CreatedDate=_dt(act.occurred_at))  # fmt: skip

    def new_id(self, sobject: str) -> str:
        self._serial += 1
        return f"{_PREFIX[sobject]}5g00000{self._serial:05d}AAA"[:15] + "AAA"

    def _put(self, sobject: str, source_id: str, modstamp: datetime, **fields: Any) -> None:
        record_id = self.new_id(sobject)
        self.ids[source_id] = record_id
        self.objects[sobject][record_id] = {
            "attributes": {"type": sobject, "url": f"{V}/sobjects/{sobject}/{record_id}"},
            "Id": record_id,
            "IsDeleted": False,
            "CreatedDate": _dt(modstamp),
            **fields,
            "SystemModstamp": _dt(modstamp),
        }

    def delete(self, sobject: str, source_id: str, at: datetime) -> None:
        """Delete the way Salesforce does: to the recycle bin (IsDeleted, seen by queryAll only)."""
        record = self.objects[sobject][self.ids[source_id]]
        record.update(IsDeleted=True, SystemModstamp=_dt(at))

    def touch(self, sobject: str, source_id: str, at: datetime, **fields: Any) -> None:
        self.objects[sobject][self.ids[source_id]].update(fields, SystemModstamp=_dt(at))


def _matches(record: dict[str, Any], where: str | None) -> bool:
    if not where:
        return True
    for clause in where.split(" AND "):
        field, op, value = clause.split(" ", 2)
        have = record.get(field)
        if op == ">=":
            if have is None or datetime.fromisoformat(
                have.replace("+0000", "+00:00")
            ) < datetime.fromisoformat(value.replace("Z", "+00:00")):
                return False
        elif op == "=" and str(have).lower() != value.strip("'").lower():
            return False
    return True


def _signed_by(assertion: str, public_key: rsa.RSAPublicKey) -> dict[str, Any] | None:
    try:
        header, payload, signature = assertion.split(".")
        pad = lambda text: base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))  # noqa: E731
        public_key.verify(pad(signature), f"{header}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256())
        claims: dict[str, Any] = json.loads(pad(payload))
        return claims
    except Exception:  # noqa: BLE001 - any malformed or unsigned assertion is refused the same way
        return None


def salesforce_app(data: SalesforceData, faults: Faults, public_key: rsa.RSAPublicKey | None) -> FastAPI:  # noqa: C901
    app = FastAPI()
    cursors: dict[str, tuple[list[dict[str, Any]], list[str]]] = {}

    @app.middleware("http")
    async def gate(request: Request, call_next: Any) -> Response:
        if request.url.path == "/services/oauth2/token":
            return await call_next(request)  # type: ignore[no-any-return]
        if not faults.accept(request.headers.get("authorization", "").removeprefix("Bearer ")):
            return _errors(401, "INVALID_SESSION_ID", "Session expired or invalid")
        if faults.throttle():
            return _errors(503, "SERVER_UNAVAILABLE", "Server is temporarily unavailable; try again later")
        if request.method in ("POST", "PATCH"):
            faults.traffic.writes.append((request.method, request.url.path, await request.json()))
        return await call_next(request)  # type: ignore[no-any-return]

    @app.post("/services/oauth2/token")
    async def token(request: Request) -> JSONResponse:
        form = await request.form()
        base = str(request.base_url).rstrip("/")
        if form.get("grant_type") == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            claims = _signed_by(str(form.get("assertion")), public_key) if public_key else None
            good = claims is not None and claims.get("iss") == CLIENT_ID and claims.get("sub") == USERNAME
            if (
                not good
                or claims is None
                or claims.get("aud") != base
                or int(claims.get("exp", 0)) < time.time()
            ):
                return JSONResponse({"error": "invalid_grant", "error_description": "invalid assertion"}, 400)
        elif form.get("grant_type") == "refresh_token":
            if (form.get("client_id"), form.get("client_secret")) != (CLIENT_ID, CLIENT_SECRET):
                return JSONResponse(
                    {"error": "invalid_client_id", "error_description": "client identifier invalid"}, 400
                )
            if form.get("refresh_token") != REFRESH_TOKEN:
                return JSONResponse(
                    {"error": "invalid_grant", "error_description": "expired access/refresh token"}, 400
                )
        else:
            return JSONResponse(
                {"error": "unsupported_grant_type", "error_description": "grant type not supported"}, 400
            )
        return JSONResponse({
            "access_token": faults.issue("00Dstandin!AQ"), "instance_url": base, "token_type": "Bearer",
            "id": f"{base}/id/00D5g000000standin/0055g000000standin", "issued_at": str(int(time.time() * 1000)),
            "signature": "c3RhbmRpbg==", "scope": "api refresh_token"})  # fmt: skip

    def _run(soql: str, all_rows: bool) -> JSONResponse | dict[str, Any]:
        parsed = _SOQL.match(" ".join(soql.split()))
        if parsed is None or parsed["object"] not in data.objects:
            return _errors(400, "MALFORMED_QUERY", f"unexpected token in: {soql[:60]}")
        fields = [f.strip() for f in parsed["fields"].split(",")]
        rows = [r for r in data.objects[parsed["object"]].values() if (all_rows or not r["IsDeleted"])]
        rows = [r for r in rows if _matches(r, parsed["where"])]
        if parsed["order"]:
            keys = [k.strip() for k in parsed["order"].split(",")]
            rows.sort(key=lambda r: tuple(str(r.get(k) or "") for k in keys))
        shown = [{"attributes": r["attributes"], **{f: r.get(f) for f in fields}} for r in rows]
        locator = f"01gRO0000016{uuid.uuid4().hex[:6]}"
        cursors[locator] = (shown, [])
        return _chunk(locator, 0)

    def _chunk(locator: str, start: int) -> dict[str, Any]:
        rows = cursors[locator][0]
        end = start + _BATCH
        body: dict[str, Any] = {"totalSize": len(rows), "done": end >= len(rows), "records": rows[start:end]}
        if end < len(rows):
            body["nextRecordsUrl"] = f"{V}/query/{locator}-{end}"
        return body

    @app.get(f"{V}/query")
    async def query(q: str) -> Any:
        return _run(q, all_rows=False)

    @app.get(f"{V}/queryAll")
    async def query_all(q: str) -> Any:
        return _run(q, all_rows=True)

    @app.get(f"{V}/query/{{locator}}")
    async def more(locator: str) -> Any:
        key, _, start = locator.rpartition("-")
        if key not in cursors:
            return _errors(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return _chunk(key, int(start))

    @app.get(f"{V}/limits")
    async def limits() -> Any:
        return {"DailyApiRequests": {"Max": 100000, "Remaining": 100000 - faults.traffic.requests}}

    @app.post(f"{V}/sobjects/{{sobject}}/")
    async def create(sobject: str, request: Request) -> Any:
        if sobject not in data.objects:
            return _errors(404, "NOT_FOUND", "The requested resource does not exist")
        record_id = data.new_id(sobject)
        now = _dt(datetime.now(UTC))
        data.objects[sobject][record_id] = {"attributes": {"type": sobject}, "Id": record_id, "IsDeleted": False,
                                            **(await request.json()), "SystemModstamp": now}  # fmt: skip
        return JSONResponse({"id": record_id, "success": True, "errors": []}, status_code=201)

    @app.patch(f"{V}/sobjects/{{sobject}}/{{record_id}}")
    async def update(sobject: str, record_id: str, request: Request) -> Any:
        found = data.objects.get(sobject, {}).get(record_id)
        if found is None or found["IsDeleted"]:
            return _errors(404, "NOT_FOUND", "Provided external ID field does not exist or is not accessible")
        changes = await request.json()
        stages = {s["ApiName"] for s in data.objects["OpportunityStage"].values()}
        if sobject == "Opportunity" and "StageName" in changes and changes["StageName"] not in stages:
            return _errors(
                400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "Stage: bad value for restricted picklist"
            )
        found.update(changes, SystemModstamp=_dt(datetime.now(UTC)))
        return Response(status_code=204)

    return app
