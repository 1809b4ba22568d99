"""Forecast: bookings rebuilt from the stored deals equal the planted monthly bookings; stage probabilities
learned from stage history approach the planted ones; ETS intervals bracket the mean and the backtest beats
seasonal naive on a trending, seasonal history; `sophia bi forecast` reports all of it."""

from __future__ import annotations

import asyncio
import json

import pytest
from typer.testing import CliRunner

from sophia.bi import (
    ForecastError,
    backtest,
    forecast_bookings,
    load_forecast,
    monthly_bookings,
    pipeline_forecast,
    stage_probabilities,
)
from sophia.business import BusinessStore
from sophia.cli import app
from sophia.config import load_settings
from sophia.store import Database, open_database
from tests.business.generator import generate


async def test_bookings_and_stage_probabilities_from_the_store(database: Database) -> None:
    business = generate(3, "full")
    store = BusinessStore(database)
    await store.upsert([*business.stages, *business.deals, *business.deal_stages])
    result = await load_forecast(store, until=business.now, source="truth")
    assert result["history"] == business.truth.monthly_bookings
    for stage in result["stages"].values():
        assert stage["probability"] == pytest.approx(
            business.truth.stage_probabilities[stage["label"]], abs=0.08
        )
    open_deals = [d for d in business.deals if not d.is_closed]
    assert result["pipeline"]["open_deals"] == len(open_deals)
    assert result["backtest"]["mape"] < result["backtest"]["naive_mape"]
    for point in result["bookings"]["points"]:
        assert point["lower"] < point["mean"] < point["upper"]


def test_pipeline_weights_each_open_deal_by_its_stage() -> None:
    closed = [
        {
            "source_id": f"d{i}",
            "is_closed": True,
            "is_won": i < 3,
            "stage": "closedwon" if i < 3 else "closedlost",
        }
        for i in range(4)
    ]
    history = [{"deal_id": f"d{i}", "stage": "demo", "stage_label": "Demo"} for i in range(4)]
    open_deal = {"source_id": "d9", "is_closed": False, "stage": "demo", "amount": 1000.0}
    stages = stage_probabilities([*closed, open_deal], history)
    assert stages["demo"].probability == 0.75 and set(stages) == {"demo"}
    assert pipeline_forecast([*closed, open_deal], stages).expected == 750.0


def test_short_histories_are_a_typed_error() -> None:
    history = {f"2025-{m:02d}": 100.0 for m in range(1, 13)}
    with pytest.raises(ForecastError, match="24 months"):
        forecast_bookings(history)
    with pytest.raises(ForecastError, match="30 months"):
        backtest(history)
    assert monthly_bookings([]) == {}


def test_sophia_bi_forecast() -> None:
    business = generate(6, "full")

    async def seed() -> None:
        database = await open_database(load_settings(), migrate=True)
        try:
            await BusinessStore(database).upsert([*business.deals, *business.deal_stages])
        finally:
            await database.close()

    asyncio.run(seed())
    runner = CliRunner()
    until = business.now.isoformat()
    result = runner.invoke(app, ["bi", "forecast", "--as-of", until, "--horizon", "3", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["history"] == business.truth.monthly_bookings
    assert [p["month"] for p in data["bookings"]["points"]] == ["2026-11", "2026-12", "2027-01"]
    text = runner.invoke(app, ["bi", "forecast", "--as-of", until])
    assert text.exit_code == 0 and "backtest MAPE" in text.output and "Contract Sent: P(won)" in text.output
