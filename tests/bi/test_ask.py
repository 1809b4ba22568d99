"""`sophia.bi.ask`: the model's SQL runs read-only over the business tables, only SELECT passes, answers keep
only numbers found in the result, records are cited, a series gets a Vega-Lite spec — through the gateway with
a scripted model."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sophia.bi import (
    CANNOT_ANSWER,
    UnsafeQuery,
    ask,
    check_select,
    gateway_model,
    run_select,
    untraceable_numbers,
)
from sophia.business import BusinessStore
from sophia.gateway import Caller
from sophia.gateway.providers import ScriptedProvider
from sophia.store import Database
from tests.agents.conftest import build_gateway
from tests.business.generator import generate


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM deals",
        "SELECT 1; DROP TABLE deals",
        "COPY deals TO '/tmp/x.csv'",
        "ATTACH '/tmp/x.db'",
        "INSTALL httpfs",
        "SET enable_external_access = true",
    ],
)
def test_anything_but_one_select_is_refused(sql: str) -> None:
    with pytest.raises(UnsafeQuery):
        check_select(sql)


def test_a_select_cannot_read_files() -> None:
    with pytest.raises(UnsafeQuery, match="failed"):
        run_select({"deals": [{"source_id": "d1", "amount": 1.0}]}, "SELECT * FROM read_csv('/etc/passwd')")


def test_numbers_must_come_from_the_result() -> None:
    rows = [{"n": 42, "share": 0.125, "amount": 19999.5}]
    assert untraceable_numbers("There are 42 deals, 12.5% of them, worth 19,999.5 USD.", rows) == []
    assert untraceable_numbers("There are 43 deals.", rows) == [43.0]
    assert untraceable_numbers("In 2026 there were 42.", rows, "How many in 2026?") == []


@given(st.integers(-(10**9), 10**9))
def test_any_integer_in_the_result_is_traceable(value: int) -> None:
    assert untraceable_numbers(f"The total is {value:,}.", [{"total": value}]) == []


async def test_questions_through_the_gateway(database: Database) -> None:
    business = generate(2, "small")
    store = BusinessStore(database)
    await store.upsert(business.entities())
    frames = await store.frames(source="truth")
    won = [d for d in business.deals if d.is_won]
    top = max(won, key=lambda d: (d.amount or 0, d.source_id))

    def script(body: dict[str, Any]) -> str:
        user = str(body["messages"][-1]["content"])
        if user.startswith("How many won"):
            return '{"sql": "SELECT count(*) AS won FROM deals WHERE is_won"}'
        if user.startswith("Which won deal"):
            return (
                '{"sql": "SELECT source, source_id, source_url, amount FROM deals WHERE is_won '
                'ORDER BY amount DESC, source_id DESC LIMIT 1"}'
            )
        if user.startswith("Bookings by month"):
            return (
                '{"sql": "SELECT strftime(close_date, \'%Y-%m\') AS month, sum(amount) AS bookings FROM deals '
                'WHERE is_won GROUP BY 1 ORDER BY 1"}'
            )
        if user.startswith("Delete"):
            return '{"sql": "DELETE FROM deals"}'
        if user.startswith("What is our office"):
            return '{"sql": null}'
        if "Result rows" in user and "How many won" in user:
            return orjson.dumps({"answer": f"{len(won)} deals were won."}).decode()
        if "Result rows" in user and "Which won deal" in user:
            return orjson.dumps({"answer": f"{top.source_id} for {top.amount:,.0f} USD."}).decode()
        if "Result rows" in user and "Bookings by month" in user:
            return '{"answer": "Bookings rose to 999999999 in the best month."}'
        return "{}"

    provider = ScriptedProvider(script, name="scripted")
    gateway = build_gateway(database, provider)
    model = gateway_model(gateway, Caller(), "scripted")
    try:
        count = await ask("How many won deals do we have?", frames, model)
        biggest = await ask("Which won deal is the largest?", frames, model)
        series = await ask("Bookings by month?", frames, model)
        delete = await ask("Delete every deal", frames, model)
        office = await ask("What is our office address?", frames, model)
    finally:
        await gateway.aclose()
    assert (
        count.answered and count.text == f"{len(won)} deals were won." and count.rows == [{"won": len(won)}]
    )
    assert biggest.answered and biggest.citations == [
        {"source": "truth", "source_id": top.source_id, "source_url": top.source_url}
    ]
    assert not series.answered and series.text == CANNOT_ANSWER and "999999999" in (series.refused or "")
    assert series.chart is not None and series.chart["mark"] == "line"
    assert len(series.chart["data"]["values"]) == len(series.rows) > 2
    assert not delete.answered and "only SELECT" in (delete.refused or "")
    assert not office.answered and office.text == CANNOT_ANSWER
    assert len(await store.rows("deals")) == len(business.deals)
