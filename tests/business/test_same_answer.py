"""One generated business, synced through HubSpot and through Salesforce into the same store: every analysis
query gives the same answer from either source, and the answer is the planted truth."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from sophia.business import BusinessStore
from sophia.store import Database
from tests.business.generator import generate
from tests.business.standins import connect, hubspot_standin, pull, salesforce_standin


async def _analysis(store: BusinessStore, source: str) -> dict[str, Any]:
    """Queries an analyst (or the BI agents) would run; ids differ per source, so answers are keyed by names."""
    frames = await store.frames(
        source=source, kinds=["accounts", "contacts", "deals", "deal_stages", "activities"]
    )
    names = {a["source_id"]: a["name"] for a in frames["accounts"]}
    pipeline: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    won_by_month: dict[str, float] = defaultdict(float)
    for deal in frames["deals"]:
        if not deal["is_closed"]:
            pipeline[deal["stage_label"]][0] += 1
            pipeline[deal["stage_label"]][1] += deal["amount"]
        elif deal["is_won"]:
            won_by_month[deal["close_date"].strftime("%Y-%m")] += deal["amount"]
    tickets = [a for a in frames["activities"] if a["kind"] == "ticket"]
    return {
        "pipeline_by_stage": {k: (v[0], round(v[1], 2)) for k, v in pipeline.items()},
        "won_by_month": {k: round(v, 2) for k, v in won_by_month.items()},
        "contacts_per_account": Counter(names[c["account_id"]] for c in frames["contacts"]),
        "champions_lost": sorted(names[c["account_id"]] for c in frames["contacts"] if c["left_at"]),
        "churned": sorted(a["name"] for a in frames["accounts"] if a["churned_at"]),
        "open_p1_per_account": Counter(
            names[t["account_id"]] for t in tickets if t["priority"] == "P1" and t["status"] == "open"
        ),
        "stage_entries": Counter(s["stage_label"] for s in frames["deal_stages"]),
        "activities_by_kind": Counter(a["kind"] for a in frames["activities"]),
        "lost_reasons": Counter(
            d["lost_reason"] for d in frames["deals"] if d["is_closed"] and not d["is_won"]
        ),
    }


async def test_the_same_query_gives_the_same_answer_through_hubspot_or_salesforce(database: Database) -> None:
    business = generate(21, "small")
    store = BusinessStore(database)
    for standin, name in ((hubspot_standin, "hubspot"), (salesforce_standin, "salesforce")):
        with standin(business) as service:
            connector = connect(service, name=name)
            records = await pull(connector)
            await store.upsert([e for r in records for e in connector.to_business(r)])  # type: ignore[attr-defined]
            await connector.aclose()
    hubspot, salesforce = await _analysis(store, "hubspot"), await _analysis(store, "salesforce")
    assert hubspot == salesforce
    planted = {k: v for k, v in business.truth.monthly_bookings.items() if v}
    assert hubspot["won_by_month"] == planted
    assert hubspot["churned"] == sorted(a.name for a in business.accounts if a.churned_at)
    open_p1 = {
        business.accounts[int(k[4:]) - 1].name: c.open_p1_tickets for k, c in business.truth.churn.items()
    }
    assert hubspot["open_p1_per_account"] == Counter({k: v for k, v in open_p1.items() if v})
    assert sum(hubspot["contacts_per_account"].values()) == len(business.contacts)
