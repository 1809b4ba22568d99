"""Airtable against a double answering in the shapes of Airtable's API reference examples (Airtable publishes no
OpenAPI document): meta API schema, offset paging with filterByFormula, batches of 10, the per-base limit."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from sophia.config import ConnectorSettings
from sophia.connectors import ConnectorInvalid, KeyedRateGates, Syncable, build_connector
from sophia.secrets import SecretResolver
from tests.connectors.infra_kit import Sleeps

TOKEN = "patAbCdEf12345.5ecret-fake"
BASE = "appLkNDICXNqxSDhG"
OTHER = "appSW9R5uCNmRmfl6"


def _record(number: int) -> dict[str, Any]:
    """The list-records example: id, createdTime, fields."""
    return {
        "id": f"rec{number:014d}",
        "createdTime": "2022-09-12T21:03:48.000Z",
        "fields": {"Name": f"Apartment {number}", "Visited": number % 2 == 0, "Size (sq ft)": 1000 + number},
    }


class AirtableService:
    """Documented answers; every request recorded; 23 records in pages of `pageSize` with an `offset`."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.rows = [_record(n) for n in range(23)]
        self.rate_limited = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path.removeprefix("/v0")
        if self.rate_limited:
            self.rate_limited -= 1
            return httpx.Response(
                429,
                json={
                    "errors": [
                        {
                            "error": "RATE_LIMIT_REACHED",
                            "message": "Rate limit exceeded. Please try again later",
                        }
                    ]
                },
            )
        if path == "/meta/bases":
            return httpx.Response(
                200,
                json={
                    "bases": [
                        {"id": BASE, "name": "Apartment Hunting", "permissionLevel": "create"},
                        {"id": OTHER, "name": "Project Tracker", "permissionLevel": "edit"},
                    ]
                },
            )
        if path == f"/meta/bases/{BASE}/tables":
            return httpx.Response(
                200,
                json={
                    "tables": [
                        {
                            "id": "tbltp8DGLhqbUmjK1",
                            "name": "Apartments",
                            "primaryFieldId": "fld1VnoyuotSTyxW1",
                            "description": "Apartments to track.",
                            "fields": [
                                {
                                    "id": "fld1VnoyuotSTyxW1",
                                    "name": "Name",
                                    "type": "singleLineText",
                                    "description": "Name of the apartment",
                                },
                                {
                                    "id": "fldoaIqdn5szURHpw",
                                    "name": "Pictures",
                                    "type": "multipleAttachments",
                                    "options": {"isReversed": False},
                                },
                            ],
                            "views": [{"id": "viwQpsuEDqHFqegkp", "name": "Grid view", "type": "grid"}],
                        }
                    ]
                },
            )
        if request.method == "GET":
            start = int(request.url.params.get("offset", "itr0/x").split("/")[0].removeprefix("itr"))
            size = min(10, int(request.url.params.get("pageSize", "100")))  # the stand-in pages by 10
            body: dict[str, Any] = {"records": self.rows[start : start + size]}
            if start + size < len(self.rows):
                body["offset"] = f"itr{start + size}/rec{start + size:014d}"
            return httpx.Response(200, json=body)
        sent = json.loads(request.content)["records"]
        if len(sent) > 10:
            return httpx.Response(
                422,
                json={
                    "error": {
                        "type": "INVALID_RECORDS",
                        "message": "You can only create up to 10 records at a time",
                    }
                },
            )
        made = [
            {
                "id": r.get("id", f"recNEW{i:09d}"),
                "createdTime": "2026-12-07T07:00:00.000Z",
                "fields": r["fields"],
            }
            for i, r in enumerate(sent)
        ]
        return httpx.Response(200, json={"records": made})


def _airtable(home: Path, service: AirtableService, **options: Any) -> Any:
    settings = ConnectorSettings(credentials={"token": "env:AT"}, options=options, requests_per_second=1000)
    connector = build_connector(
        "airtable",
        settings,
        SecretResolver(home, environ={"AT": TOKEN}),
        transport=httpx.MockTransport(service),
    )
    sleeps = Sleeps()
    connector.http._sleep = sleeps
    connector.http.gate._sleep = sleeps
    return connector


async def test_bases_and_table_schema_from_the_meta_api(home: Path) -> None:
    service = AirtableService()
    airtable = _airtable(home, service)
    assert [b["id"] for b in await airtable.bases()] == [BASE, OTHER]
    tables = await airtable.tables(BASE)
    assert tables[0]["fields"][1] == {
        "id": "fldoaIqdn5szURHpw",
        "name": "Pictures",
        "type": "multipleAttachments",
    }
    assert service.requests[0].headers["authorization"] == f"Bearer {TOKEN}"


async def test_records_follow_offset_and_send_the_formula(home: Path) -> None:
    service = AirtableService()
    airtable = _airtable(home, service)
    found = await airtable.records(
        BASE, "Apartments", filter_by_formula="{Visited} = TRUE()", fields=["Name"]
    )
    assert len(found) == 23 and found[-1]["fields"]["Name"] == "Apartment 22"
    first, *rest = service.requests
    assert first.url.path == f"/v0/{BASE}/Apartments"
    assert first.url.params["filterByFormula"] == "{Visited} = TRUE()" and first.url.params.get_list(
        "fields[]"
    ) == ["Name"]
    assert [r.url.params.get("offset") for r in service.requests] == [None, "itr100/rec00000000000100"][
        :1
    ] + [r.url.params.get("offset") for r in rest]
    assert len(await airtable.records(BASE, "Apartments", limit=5)) == 5


async def test_twenty_three_creates_go_as_batches_of_ten(home: Path) -> None:
    service = AirtableService()
    airtable = _airtable(home, service)
    made = await airtable.create(BASE, "Apartments", [{"Name": f"New {n}"} for n in range(23)], typecast=True)
    posts = [json.loads(r.content) for r in service.requests if r.method == "POST"]
    assert [len(p["records"]) for p in posts] == [10, 10, 3] and all(p["typecast"] for p in posts)
    assert [m["fields"]["Name"] for m in made] == [f"New {n}" for n in range(23)]
    updated = await airtable.update(BASE, "tbltp8DGLhqbUmjK1", [{"id": "rec1", "fields": {"Visited": True}}])
    assert updated[0]["id"] == "rec1" and service.requests[-1].method == "PATCH"
    with pytest.raises(ConnectorInvalid):
        await airtable.update(BASE, "Apartments", [{"fields": {}}])


async def test_each_base_keeps_its_own_five_requests_a_second(home: Path) -> None:
    now = [0.0]
    waits: list[tuple[str, float]] = []
    current = [""]

    async def sleep(delay: float) -> None:
        waits.append((current[0], round(delay, 3)))

    gates = KeyedRateGates(5.0, clock=lambda: now[0], sleep=sleep)
    for base in [BASE, BASE, OTHER, BASE, OTHER]:
        current[0] = base
        await gates.wait(base)
    assert waits == [(BASE, 0.2), (BASE, 0.4), (OTHER, 0.2)], "a base waits only for its own earlier calls"
    airtable = _airtable(home, AirtableService())
    assert airtable.base_gates.gate(BASE) is airtable.base_gates.gate(BASE)
    assert airtable.base_gates.gate(BASE) is not airtable.base_gates.gate(OTHER)


async def test_a_429_is_retried(home: Path) -> None:
    service = AirtableService()
    service.rate_limited = 1
    airtable = _airtable(home, service)
    assert len(await airtable.tables(BASE)) == 1 and len(service.requests) == 2


async def test_sync_pages_a_table_with_a_modified_formula(home: Path) -> None:
    service = AirtableService()
    airtable = _airtable(home, service, tables=[f"{BASE}/Apartments"])
    assert isinstance(airtable, Syncable) and airtable.sync_streams() == [f"{BASE}/Apartments"]
    since = datetime(2026, 12, 1, tzinfo=UTC)
    page = await airtable.sync_page(f"{BASE}/Apartments", None, since=since)
    assert len(page.records) == 10 and not page.done and page.cursor == "itr10/rec00000000000010"
    last = await airtable.sync_page(f"{BASE}/Apartments", "itr20/rec00000000000020", since=since)
    assert len(last.records) == 3 and last.done
    assert (
        service.requests[0].url.params["filterByFormula"]
        == "IS_AFTER(LAST_MODIFIED_TIME(), '2026-12-01T00:00:00.000Z')"
    )
    record = page.records[0]
    assert (
        record.title == "Apartment 0" and "Size (sq ft)" in record.text and airtable.to_business(record) == []
    )
    assert len(await airtable.sync_live_ids(f"{BASE}/Apartments")) == 23
    with pytest.raises(ConnectorInvalid):
        await airtable.sync_page("Apartments", None, since=None)
