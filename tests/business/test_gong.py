"""Gong against the stand-in: users, calls and transcripts paged on records.cursor through 429s; the sentences
give the planted coach metrics exactly; calls reach HubSpot accounts by their customers' emails."""

from __future__ import annotations

import dataclasses

import pytest

from sophia.business import BusinessStore, CallSentence
from sophia.connectors import ConnectorNotFound, Syncable
from sophia.store import Database
from tests.business.generator import NOW, call_metrics, generate
from tests.business.standins import connect, gong_standin, hubspot_standin, pull


async def test_a_sync_gives_every_sentence_and_the_planted_coach_metrics(database: Database) -> None:
    business = generate(31, "small")
    with gong_standin(business, throttle_every=4) as service:
        connector = connect(service)
        assert isinstance(connector, Syncable)
        records = await pull(connector)
        await connector.aclose()
    assert service.traffic.throttled >= 3
    entities = [e for r in records for e in connector.to_business(r)]  # type: ignore[attr-defined]
    sentences = [e for e in entities if isinstance(e, CallSentence)]
    assert len(sentences) == len(business.sentences)
    ids = service.data.ids
    for call in business.calls:
        mine = [s for s in sentences if s.call_id == ids[call.source_id]]
        got = dataclasses.replace(call_metrics("x", mine), rep_id="x")
        assert got == dataclasses.replace(business.truth.calls[call.source_id], rep_id="x")
    store = BusinessStore(database)
    await store.upsert(entities)
    counts = await store.counts(source="gong")
    assert (counts["calls"], counts["reps"]) == (len(business.calls), len(business.reps))


async def test_calls_join_to_crm_accounts_by_participant_email(database: Database) -> None:
    business = generate(32, "small")
    store = BusinessStore(database)
    for standin in (hubspot_standin, gong_standin):
        with standin(business) as service:
            connector = connect(service)
            await store.upsert([e for r in await pull(connector) for e in connector.to_business(r)])  # type: ignore[attr-defined]
            await connector.aclose()
    linked = await store.linked("calls", crm_source="hubspot", source="gong")
    assert len(linked) == len(business.calls)
    assert all(row["account_name"] and row["title"].startswith(row["account_name"] + " /") for row in linked)
    assert {row["account_matched_by"] for row in linked} == {"contact_email"}


async def test_an_incremental_window_with_no_calls_is_an_empty_page_and_a_missing_transcript_is_not_found() -> (
    None
):
    business = generate(33, "small")
    with gong_standin(business, throttle_every=None) as service:
        connector = connect(service)
        page = await connector.sync_page("calls", None, since=NOW.replace(year=NOW.year + 1))  # type: ignore[attr-defined]
        first = business.calls[0]
        lines = await connector.transcript(service.data.ids[first.source_id])  # type: ignore[attr-defined]
        with pytest.raises(ConnectorNotFound):
            await connector.transcript("1")  # type: ignore[attr-defined]
        await connector.aclose()
    assert page.records == [] and page.done
    assert [line["text"] for line in lines] == [s.text for s in business.sentences_of(first.source_id)]
    assert lines[0]["role"] == "rep"
