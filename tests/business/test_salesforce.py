"""Salesforce against the stand-in: JWT bearer and refresh-token sessions with instance_url, SOQL paging on
nextRecordsUrl, queryAll deletions, the mapping, sObject writes (and their dry run), typed errors."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sophia.business import BusinessStore
from sophia.connectors import (
    ConnectorAuthError,
    ConnectorInvalid,
    ConnectorNotFound,
    DryRunStop,
    Syncable,
    call_scope,
)
from sophia.store import Database
from tests.business.generator import NOW, generate
from tests.business.standins import connect, pull, salesforce_standin


@pytest.mark.parametrize("jwt", [True, False], ids=["jwt-bearer", "refresh-token"])
async def test_a_full_sync_pages_soql_through_503s_and_expired_sessions(jwt: bool) -> None:
    business = generate(11, "small")
    with salesforce_standin(business, throttle_every=5, token_uses=8, jwt=jwt) as service:
        connector = connect(service)
        assert isinstance(connector, Syncable)
        records = await pull(connector)
        await connector.aclose()
    counts: dict[str, int] = {}
    for record in records:
        counts[record.stream] = counts.get(record.stream, 0) + 1
    assert counts["accounts"] == len(business.accounts) and counts["contacts"] == len(business.contacts)
    assert counts["opportunities"] == len(business.deals)
    assert counts["opportunity_history"] == len(business.deal_stages)
    assert sum(counts.get(s, 0) for s in ("tasks", "events", "notes", "cases")) == len(business.activities)
    assert (
        service.traffic.throttled >= 3 and service.traffic.expired >= 1 and service.traffic.tokens_issued >= 2
    )
    assert all(r.url and r.url.startswith(service.url + "/") for r in records)


async def test_an_incremental_sync_reads_queryall_since_the_modstamp_and_sees_deletions(
    database: Database,
) -> None:
    business = generate(12, "small")
    with salesforce_standin(business, throttle_every=None) as service:
        connector = connect(service, name="sf")
        store = BusinessStore(database)
        await store.upsert([e for r in await pull(connector) for e in connector.to_business(r)])  # type: ignore[attr-defined]
        since = NOW + timedelta(days=1)
        gone, moved = business.accounts[2], business.deals[-1]
        service.data.delete("Account", gone.source_id, since + timedelta(minutes=5))
        service.data.touch("Opportunity", moved.source_id, since + timedelta(minutes=9), StageName="Closed Won",
                           IsClosed=True, IsWon=True)  # fmt: skip
        changed = await pull(connector, since=since, streams=["accounts", "opportunities"])
        live = await connector.sync_live_ids("accounts")  # type: ignore[attr-defined]
        await connector.aclose()
    ids = service.data.ids
    assert [(r.stream, r.id, r.deleted) for r in changed] == [
        ("accounts", ids[gone.source_id], True),
        ("opportunities", ids[moved.source_id], False),
    ]
    assert ids[gone.source_id] not in live and len(live) == len(business.accounts) - 1
    await store.mark_deleted("sf", "accounts", [r.id for r in changed if r.deleted])
    await store.upsert([e for r in changed if not r.deleted for e in connector.to_business(r)])  # type: ignore[attr-defined]
    deal = next(d for d in await store.rows("deals", source="sf") if d["source_id"] == ids[moved.source_id])
    assert (deal["stage_label"], deal["is_won"]) == ("Closed Won", True)
    assert deal["source_url"] == f"{service.url}/{ids[moved.source_id]}"
    assert len(await store.rows("accounts", source="sf")) == len(business.accounts) - 1


async def test_writes_create_and_update_sobjects_and_check_the_stage_and_a_dry_run_sends_nothing() -> None:
    business = generate(13, "small")
    with salesforce_standin(business, throttle_every=None, jwt=False) as service:
        connector = connect(service)
        opportunity = service.data.ids[business.deals[-1].source_id]
        task = await connector.create_task("Call the CFO", what_id=opportunity, priority="High")  # type: ignore[attr-defined]
        await connector.update("Task", task["id"], {"Status": "Completed"})  # type: ignore[attr-defined]
        moved = await connector.set_stage(opportunity, "contract sent")  # type: ignore[attr-defined]
        with pytest.raises(ConnectorInvalid, match="no active opportunity stage"):
            await connector.set_stage(opportunity, "Negotiation/Review")  # type: ignore[attr-defined]
        with pytest.raises(ConnectorInvalid, match="not a valid sObject name"):
            await connector.create("Task/../../x", {"Subject": "x"})  # type: ignore[attr-defined]
        with pytest.raises(ConnectorNotFound):
            await connector.update("Opportunity", "006000000000000AAA", {"Amount": 1})  # type: ignore[attr-defined]
        with pytest.raises(ConnectorInvalid, match="SELECT statements only"):
            await connector.query("DELETE FROM Account")  # type: ignore[attr-defined]
        sent = len(service.traffic.writes)
        with call_scope(dry_run=True, tool="salesforce.sobjects.update", arguments={}, run_id=None):
            with pytest.raises(DryRunStop) as stopped:
                await connector.update("Opportunity", opportunity, {"Amount": 5})  # type: ignore[attr-defined]
        await connector.aclose()
    assert moved == {"id": opportunity, "updated": ["StageName"]}
    assert service.data.objects["Opportunity"][opportunity]["StageName"] == "Contract Sent"
    assert service.traffic.writes[0][1] == "/services/data/v60.0/sobjects/Task/"
    assert service.traffic.writes[0][2]["WhatId"] == opportunity and len(service.traffic.writes) == sent
    assert stopped.value.preview.method == "PATCH"


async def test_a_refused_jwt_assertion_is_a_clear_auth_error_without_the_key() -> None:
    business = generate(14, "small")
    with salesforce_standin(business, throttle_every=None) as service:
        other = connect(service, username="someone-else@example.com")
        with pytest.raises(ConnectorAuthError, match="invalid assertion") as refused:
            await other.check()
        await other.aclose()
    assert "PRIVATE KEY" not in refused.value.message
