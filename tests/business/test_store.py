"""The unified business tables on SQLite and PostgreSQL: upsert by (source, source_id), soft delete, reads, joins."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from sophia.business import (
    Account,
    BusinessStore,
    Call,
    Contact,
    Deal,
    UnknownBusinessKind,
    email_domain,
    normalise_domain,
)
from sophia.store import Database
from tests.business.generator import NOW, call_metrics, generate


def _account(source: str, source_id: str, name: str, days: int = 0, domain: str | None = None) -> Account:
    return Account(
        source=source,
        source_kind="hubspot",
        source_id=source_id,
        source_url=f"https://app.hubspot.com/contacts/1/company/{source_id}",
        updated_at=NOW - timedelta(days=days),
        name=name,
        domain=domain,
    )


async def test_a_generated_business_round_trips_with_every_count(database: Database) -> None:
    business = generate(3, "small")
    store = BusinessStore(database)
    written = await store.upsert(business.entities())
    counts = await store.counts(source="truth")
    assert written == len(business.entities())
    assert counts["accounts"] == len(business.accounts)
    assert counts["call_sentences"] == len(business.sentences)
    assert counts["deal_stages"] == len(business.deal_stages)
    deals = await store.rows("deals", source="truth")
    assert {d["source_id"] for d in deals} == {d.source_id for d in business.deals}
    assert all(d["source_url"].startswith("https://truth.example/") for d in deals)
    assert deals[0]["close_date"].tzinfo is not None


async def test_upsert_updates_in_place_and_never_lets_an_older_version_win(database: Database) -> None:
    store = BusinessStore(database)
    await store.upsert([_account("crm", "1", "Acme", days=5)])
    await store.upsert([_account("crm", "1", "Acme Inc", days=1)])
    await store.upsert([_account("crm", "1", "Acme (stale replay)", days=3)])
    rows = await store.rows("accounts", source="crm")
    assert [(r["source_id"], r["name"]) for r in rows] == [("1", "Acme Inc")]


async def test_the_same_id_in_two_sources_is_two_records(database: Database) -> None:
    store = BusinessStore(database)
    await store.upsert([_account("hubspot", "1", "Acme"), _account("salesforce", "1", "Globex")])
    assert len(await store.rows("accounts")) == 2
    assert [r["name"] for r in await store.rows("accounts", source="salesforce")] == ["Globex"]


async def test_deleted_records_are_hidden_kept_and_come_back_when_upserted(database: Database) -> None:
    store = BusinessStore(database)
    await store.upsert([_account("crm", str(i), f"A{i}") for i in range(5)])
    assert await store.mark_deleted("crm", "accounts", ["1", "2", "404"]) == 2
    assert await store.mark_deleted("crm", "accounts", ["1"]) == 0
    live = {r["source_id"] for r in await store.rows("accounts")}
    assert live == {"0", "3", "4"}
    everything = await store.rows("accounts", include_deleted=True)
    assert {r["source_id"] for r in everything if r["deleted_at"] is not None} == {"1", "2"}
    assert await store.mark_missing("crm", "accounts", {"0", "3"}) == 1
    await store.upsert([_account("crm", "4", "A4 again", days=-1)])
    assert {r["source_id"] for r in await store.rows("accounts")} == {"0", "3", "4"}


async def test_writes_join_the_callers_transaction(database: Database) -> None:
    store = BusinessStore(database)
    with pytest.raises(RuntimeError):
        async with database.transaction() as session:
            await store.upsert([_account("crm", "9", "Rolled back")], session=session)
            raise RuntimeError("the page's cursor write failed")
    assert await store.rows("accounts") == []


async def test_calls_reach_crm_accounts_by_contact_email_then_domain(database: Database) -> None:
    store = BusinessStore(database)
    contact = Contact(
        source="crm",
        source_kind="hubspot",
        source_id="c1",
        updated_at=NOW,
        name="Ann",
        email="Ann@Other.example",
        account_id="a2",
    )
    call = Call(
        source="gong",
        source_kind="gong",
        source_id="g1",
        updated_at=NOW,
        title="Intro",
        started_at=NOW,
        duration_s=60.0,
        participants=[
            {"email": "rep@us.example", "role": "rep"},
            {"email": "bob@acme.example", "role": "customer"},
        ],
    )
    by_contact = dataclasses.replace(call, source_id="g2", participants=[{"email": "ann@other.example"}])
    nobody = dataclasses.replace(call, source_id="g3", participants=[{"email": "x@gmail.com"}])
    await store.upsert(
        [
            _account("crm", "a1", "Acme", domain="https://www.acme.example/"),
            _account("crm", "a2", "Other co", domain="other.example"),
            _account("crm", "a3", "Free mail", domain="gmail.com"),
            contact,
            call,
            by_contact,
            nobody,
        ]
    )
    linked = {r["source_id"]: r for r in await store.linked("calls", crm_source="crm")}
    assert (linked["g1"]["account_source_id"], linked["g1"]["account_matched_by"]) == ("a1", "domain")
    assert (linked["g2"]["account_name"], linked["g2"]["account_matched_by"]) == ("Other co", "contact_email")
    assert linked["g3"]["account_source_id"] is None


async def test_a_generated_business_links_every_call_to_its_account(database: Database) -> None:
    business = generate(5, "small")
    store = BusinessStore(database)
    await store.upsert(business.entities())
    linked = await store.linked("calls")
    assert len(linked) == len(business.calls)
    assert all(r["account_matched_by"] == "contact_email" for r in linked)


async def test_an_unknown_kind_is_a_typed_error(database: Database) -> None:
    with pytest.raises(UnknownBusinessKind, match="no business record kind 'opportunities'"):
        await BusinessStore(database).rows("opportunities")


async def test_a_deal_survives_the_round_trip_field_for_field(database: Database) -> None:
    deal = generate(7, "small").deals[0]
    store = BusinessStore(database)
    await store.upsert([deal])
    (row,) = await store.rows("deals")
    assert {f.name: row[f.name] for f in dataclasses.fields(Deal)} == dataclasses.asdict(deal)


def test_domains_are_normalised_for_matching() -> None:
    assert normalise_domain("HTTPS://WWW.Acme.com:443/about") == "acme.com"
    assert email_domain("Bob@Sales.Acme.com") == "sales.acme.com"
    assert email_domain("not an email") is None


def test_the_generator_is_seeded_and_its_planted_metrics_are_exact() -> None:
    one, again, other = generate(11, "small"), generate(11, "small"), generate(12, "small")
    assert one.truth.monthly_bookings == again.truth.monthly_bookings
    assert one.truth.monthly_bookings != other.truth.monthly_bookings
    assert len(one.truth.monthly_bookings) >= 24
    for call in one.calls:
        assert one.truth.calls[call.source_id] == call_metrics(
            call.owner_id or "", one.sentences_of(call.source_id)
        )
    ratios = sorted(one.truth.reps.values(), key=lambda r: r.planted_talk_ratio)
    assert ratios[0].talk_ratio < ratios[-1].talk_ratio
