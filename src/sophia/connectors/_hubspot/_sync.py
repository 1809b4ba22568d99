"""HubSpot sync: every stream paged on `paging.next.after`; objects incrementally through the search API
(`hs_lastmodifieddate`/`lastmodifieddate` GTE the last sync), links from the v4 associations batch read, and a
deal's stage history from `propertiesWithHistory=dealstage` (batch read)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sophia.connectors._cursor import decode_cursor, encode_cursor, iso_z, parse_time
from sophia.connectors._errors import ConnectorInvalid
from sophia.connectors._http import ConnectorHttp
from sophia.connectors._hubspot._mapping import ENGAGEMENTS, OBJECT_PROPERTIES
from sophia.connectors._sync import SyncPage, SyncRecord

__all__ = ["OBJECT_STREAMS", "HubSpotSync"]

OBJECT_STREAMS = ("companies", "contacts", "deals", "tickets", *ENGAGEMENTS)
_LINKS: dict[str, tuple[str, ...]] = {
    "companies": (),
    "contacts": ("companies",),
    "deals": ("companies",),
    "tickets": ("companies", "contacts"),
    **{kind: ("companies", "contacts", "deals") for kind in ENGAGEMENTS},
}
_PAGE = 100


def _modified_property(stream: str) -> str:
    return "lastmodifieddate" if stream == "contacts" else "hs_lastmodifieddate"


def _title(stream: str, data: Mapping[str, Any]) -> str:
    p = data.get("properties") or {}
    if stream == "owners":
        return " ".join(x for x in (data.get("firstName"), data.get("lastName")) if x) or str(
            data.get("email")
        )
    if stream == "pipelines":
        return f"Pipeline {data.get('label')}"
    named = p.get("name") or p.get("dealname") or p.get("subject") or p.get("hs_task_subject")
    named = named or p.get("hs_call_title") or p.get("hs_email_subject") or p.get("hs_meeting_title")
    person = " ".join(x for x in (p.get("firstname"), p.get("lastname")) if x)
    return str(named or person or p.get("email") or f"{stream} {data.get('id')}")


def _text(stream: str, data: Mapping[str, Any]) -> str:
    p = data.get("properties") or {}
    if stream == "pipelines":
        stages = ", ".join(str(s.get("label")) for s in data.get("stages") or [])
        return f"Deal pipeline {data.get('label')}: {stages}"
    shown = {k: v for k, v in p.items() if v not in (None, "") and k not in ("hs_object_id",)}
    details = "; ".join(f"{k}: {str(v)[:300]}" for k, v in sorted(shown.items()))
    return f"HubSpot {stream[:-1]} {_title(stream, data)}. {details}".strip()


class HubSpotSync:
    """The stream walks behind `HubSpot.sync_page` / `sync_live_ids`."""

    def __init__(self, http: ConnectorHttp, options: Mapping[str, Any]) -> None:
        self.http = http
        self.stage_labels: dict[str, str] = {}
        self._extra = {
            "companies": (str(options.get("churn_property", "churn_date")),),
            "contacts": (str(options.get("left_property", "left_company_date")),),
        }

    def streams(self) -> Sequence[str]:
        return ("owners", "pipelines", *OBJECT_STREAMS)

    def properties(self, stream: str) -> list[str]:
        if stream not in OBJECT_PROPERTIES:
            raise ConnectorInvalid(
                f"HubSpot: no object type {stream[:40]!r}; one of {', '.join(OBJECT_STREAMS)}"
            )
        return [*OBJECT_PROPERTIES[stream], *self._extra.get(stream, ())]

    async def page(self, stream: str, cursor: str | None, *, since: datetime | None) -> SyncPage:
        state = decode_cursor(cursor, "HubSpot")
        if stream == "owners":
            params: dict[str, Any] = {
                "limit": _PAGE,
                **({"after": state["after"]} if "after" in state else {}),
            }
            body = await self.http.json("GET", "/crm/v3/owners/", params=params)
            return self._page(stream, body.get("results", []), body, state.get("since"))
        if stream == "pipelines":
            body = await self.http.json("GET", "/crm/v3/pipelines/deals")
            self._learn_stages(body.get("results", []))
            return self._page(stream, body.get("results", []), {}, None)
        if stream == "deals" and not self.stage_labels:
            self._learn_stages((await self.http.json("GET", "/crm/v3/pipelines/deals")).get("results", []))
        start = state.get("since") or (iso_z(since) if since else None)
        body = await (self._search(stream, start, state.get("after")) if start else self._list(stream, state))
        results = body.get("results", [])
        await self._enrich(stream, results)
        return self._page(stream, results, body, start)

    def _learn_stages(self, pipelines: list[dict[str, Any]]) -> None:
        for pipeline in pipelines:
            for stage in pipeline.get("stages") or []:
                self.stage_labels[str(stage["id"])] = str(stage.get("label") or stage["id"])

    def _page(
        self, stream: str, items: list[dict[str, Any]], body: Mapping[str, Any], since: str | None
    ) -> SyncPage:
        after = ((body.get("paging") or {}).get("next") or {}).get("after")
        records = [
            SyncRecord(
                stream=stream,
                id=str(item["id"]),
                updated_at=parse_time(item.get("updatedAt")) or datetime.now(UTC),
                title=_title(stream, item)[:200],
                text=_text(stream, item),
                url=None,
                data=item,
                deleted=bool(item.get("archived", False)),
            )
            for item in items
        ]
        if not after:
            return SyncPage(records, None, True)
        return SyncPage(records, encode_cursor(after=str(after), since=since), False)

    async def _list(self, stream: str, state: Mapping[str, Any]) -> dict[str, Any]:
        params: dict[str, Any] = {
            "limit": _PAGE,
            "properties": ",".join(self.properties(stream)),
            "archived": "false",
        }
        if state.get("after"):
            params["after"] = state["after"]
        body: dict[str, Any] = await self.http.json("GET", f"/crm/v3/objects/{stream}", params=params)
        return body

    async def _search(self, stream: str, since: str, after: str | None) -> dict[str, Any]:
        prop = _modified_property(stream)
        millis = str(int((parse_time(since) or datetime.now(UTC)).timestamp() * 1000))
        query: dict[str, Any] = {
            "filterGroups": [{"filters": [{"propertyName": prop, "operator": "GTE", "value": millis}]}],
            "sorts": [{"propertyName": prop, "direction": "ASCENDING"}],
            "properties": self.properties(stream),
            "limit": _PAGE,
        }
        if after:
            query["after"] = after
        body: dict[str, Any] = await self.http.json(
            "POST", f"/crm/v3/objects/{stream}/search", json=query, reads=True
        )
        return body

    async def _enrich(self, stream: str, results: list[dict[str, Any]]) -> None:
        """Associations (v4 batch read) in the v3 `associations` shape; stage history for deals."""
        ids = [{"id": str(r["id"])} for r in results]
        if not ids:
            return
        by_id = {str(r["id"]): r for r in results}
        for to in _LINKS[stream]:
            body = await self.http.json(
                "POST",
                f"/crm/v4/associations/{stream}/{to}/batch/read",
                json={"inputs": ids},
                reads=True,
                ok=(207,),
            )
            for link in body.get("results", []):
                record = by_id.get(str((link.get("from") or {}).get("id")))
                if record is not None:
                    found = [{"id": str(t["toObjectId"]), "type": _type_of(t)} for t in link.get("to") or []]
                    record.setdefault("associations", {})[to] = {"results": found}
        if stream == "deals":
            body = await self.http.json(
                "POST",
                "/crm/v3/objects/deals/batch/read",
                json={"inputs": ids, "properties": ["dealstage"], "propertiesWithHistory": ["dealstage"]},
                reads=True,
                ok=(207,),
            )
            for item in body.get("results", []):
                record = by_id.get(str(item.get("id")))
                if record is not None:
                    record["propertiesWithHistory"] = item.get("propertiesWithHistory") or {}

    async def live_ids(self, stream: str) -> set[str] | None:
        if stream not in OBJECT_STREAMS:
            return None
        ids: set[str] = set()
        state: dict[str, Any] = {}
        while True:
            params: dict[str, Any] = {"limit": _PAGE, "archived": "false", **state}
            body = await self.http.json("GET", f"/crm/v3/objects/{stream}", params=params)
            ids.update(str(r["id"]) for r in body.get("results", []))
            after = ((body.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return ids
            state = {"after": after}

    async def get(self, stream: str, object_id: str) -> dict[str, Any]:
        params = {"properties": ",".join(self.properties(stream))}
        record: dict[str, Any] = await self.http.json(
            "GET", f"/crm/v3/objects/{stream}/{object_id}", params=params
        )
        await self._enrich(stream, [record])
        return record


def _type_of(target: Mapping[str, Any]) -> str:
    types = target.get("associationTypes") or []
    return str(types[0].get("label") or types[0].get("typeId")) if types else ""
