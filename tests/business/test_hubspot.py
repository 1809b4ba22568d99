"""HubSpot against the stand-in serving a generated business: sync pages, incremental search, deletions, the
mapping into BusinessStore, writes (and their dry run), 429s and OAuth refresh, typed errors."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sophia.business import BusinessStore
from sophia.connectors import ConnectorInvalid, ConnectorNotFound, DryRunStop, Syncable, call_scope
from sophia.store import Database
from tests.business.generator import NOW, Sizes, generate
from tests.business.standins import connect, hubspot_standin, pull

PAGED = Sizes(accounts=24, contacts=250, deals=130, calls=4, activities=230, reps=4, months=24, usage_weeks=4)
"""Small, but several pages per stream (HubSpot pages hold at most 100 records)."""


async def test_a_full_sync_pulls_every_record_through_paging_429s_and_token_refreshes() -> None:
    business = generate(5, PAGED)
    with hubspot_standin(business, throttle_every=9, token_uses=25) as service:
        connector = connect(service)
        assert isinstance(connector, Syncable)
        records = await pull(connector)
        await connector.aclose()
    by_stream: dict[str, int] = {}
    for record in records:
        by_stream[record.stream] = by_stream.get(record.stream, 0) + 1
    assert by_stream["companies"] == len(business.accounts)
    assert by_stream["contacts"] == len(business.contacts)
    assert by_stream["deals"] == len(business.deals)
    assert by_stream["owners"] == len(business.reps)
    assert sum(by_stream.get(s, 0) for s in ("notes", "emails", "meetings", "tasks", "tickets")) == len(
        business.activities
    )
    assert (
        service.traffic.throttled >= 3 and service.traffic.expired >= 1 and service.traffic.tokens_issued >= 2
    )
    assert len({(r.stream, r.id) for r in records}) == len(records)
    assert sum(1 for r in records if r.stream == "contacts" and r.data["associations"]["companies"]) == 250


async def test_the_mapping_lands_in_the_business_tables_with_links_and_stage_history(
    database: Database,
) -> None:
    business = generate(6, "small")
    with hubspot_standin(business, oauth=False) as service:
        connector = connect(service, name="crm")
        records = await pull(connector)
        await connector.aclose()
    store = BusinessStore(database)
    await store.upsert([e for r in records for e in connector.to_business(r)])  # type: ignore[attr-defined]
    counts = await store.counts(source="crm")
    assert counts["accounts"] == len(business.accounts) and counts["deals"] == len(business.deals)
    assert counts["deal_stages"] == len(business.deal_stages)
    assert counts["pipeline_stages"] == len(business.stages) and counts["reps"] == len(business.reps)
    ids = service.data.ids
    truth = {d.source_id: d for d in business.deals}
    rows = {r["source_id"]: r for r in await store.rows("deals", source="crm")}
    for deal_id, deal in truth.items():
        row = rows[ids[deal_id]]
        assert row["account_id"] == ids[deal.account_id or ""]
        assert (row["stage_label"], row["amount"], row["is_won"]) == (
            deal.stage_label,
            deal.amount,
            deal.is_won,
        )
        assert row["close_date"] == deal.close_date
    champions = {c["source_id"] for c in await store.rows("contacts", source="crm") if c["is_champion"]}
    assert champions == {ids[c.source_id] for c in business.contacts if c.is_champion}
    tickets = [a for a in await store.rows("activities", source="crm") if a["kind"] == "ticket"]
    planted = [a for a in business.activities if a.kind == "ticket"]
    assert sorted((t["priority"], t["status"]) for t in tickets) == sorted(
        (a.priority, a.status) for a in planted
    )
    churned = {a["source_id"] for a in await store.rows("accounts", source="crm") if a["churned_at"]}
    assert churned == {ids[a.source_id] for a in business.accounts if a.churned_at}


async def test_an_incremental_sync_asks_the_search_api_for_what_changed_since() -> None:
    business = generate(7, "small")
    with hubspot_standin(business, throttle_every=None) as service:
        connector = connect(service)
        since = NOW + timedelta(days=1)
        deal = business.deals[0]
        service.data.touch("deals", deal.source_id, since + timedelta(hours=2), dealstage="closedwon")
        changed = await pull(connector, since=since, streams=["deals", "companies"])
        await connector.aclose()
    assert [(r.stream, r.id) for r in changed] == [("deals", service.data.ids[deal.source_id])]
    assert changed[0].data["properties"]["dealstage"] == "closedwon"


async def test_deleted_records_drop_out_of_the_live_ids() -> None:
    business = generate(8, "small")
    with hubspot_standin(business) as service:
        connector = connect(service)
        before = await connector.sync_live_ids("companies")  # type: ignore[attr-defined]
        service.data.archive("companies", business.accounts[3].source_id)
        after = await connector.sync_live_ids("companies")  # type: ignore[attr-defined]
        owners = await connector.sync_live_ids("owners")  # type: ignore[attr-defined]
        await connector.aclose()
    assert before - after == {service.data.ids[business.accounts[3].source_id]}
    assert len(after) == len(business.accounts) - 1 and owners is None


async def test_writes_create_notes_and_tasks_and_move_a_deal_and_a_dry_run_sends_nothing() -> None:
    business = generate(9, "small")
    with hubspot_standin(business, throttle_every=None) as service:
        connector = connect(service)
        ids = service.data.ids
        deal_id, company_id = ids[business.deals[-1].source_id], ids[business.accounts[0].source_id]
        note = await connector.create_note("Spoke with the CFO", company_id=company_id)  # type: ignore[attr-defined]
        await connector.update_note(note["id"], "Spoke with the CFO twice")  # type: ignore[attr-defined]
        task = await connector.create_task("Send the proposal", priority="high", deal_id=deal_id)  # type: ignore[attr-defined]
        await connector.update_task(task["id"], status="completed")  # type: ignore[attr-defined]
        moved = await connector.set_deal_stage(deal_id, "Contract Sent")  # type: ignore[attr-defined]
        with pytest.raises(ConnectorInvalid, match="no deal stage"):
            await connector.set_deal_stage(deal_id, "Signed in blood")  # type: ignore[attr-defined]
        with pytest.raises(ConnectorInvalid, match="priority"):
            await connector.create_task("x", priority="someday")  # type: ignore[attr-defined]
        writes_before = len(service.traffic.writes)
        with (
            call_scope(dry_run=True, tool="hubspot.deals.set_stage", arguments={}, run_id=None),
            pytest.raises(DryRunStop) as stopped,
        ):
            await connector.set_deal_stage(deal_id, "closedwon")  # type: ignore[attr-defined]
        with pytest.raises(ConnectorNotFound):
            await connector.get_object("deals", "424242")  # type: ignore[attr-defined]
        await connector.aclose()
    assert moved["properties"]["dealstage"] == "contractsent"
    assert len(service.traffic.writes) == writes_before
    assert stopped.value.preview.method == "PATCH"
    method, path, body = service.traffic.writes[0]
    assert (method, path) == ("POST", "/crm/v3/objects/notes")
    assert body["associations"] == [
        {
            "to": {"id": company_id},
            "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 190}],
        }
    ]
    assert service.traffic.writes[2][2]["properties"]["hs_task_priority"] == "HIGH"
    assert service.traffic.writes[3] == ("PATCH", f"/crm/v3/objects/tasks/{task['id']}",
                                         {"properties": {"hs_task_status": "COMPLETED"}})  # fmt: skip
