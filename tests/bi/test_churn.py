"""Churn: signals read from the unified tables as of a date match the planted ones; the model beats the base rate
and the best single signal on a time-based hold-out; health contributions add up to the probability;
`sophia bi train churn` saves the model under SOPHIA_HOME and `sophia bi health` scores with it."""

from __future__ import annotations

import asyncio
import json
import math
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sophia.bi import (
    FEATURES,
    INTERVENTIONS,
    ChurnError,
    ChurnModel,
    churn_features,
    churn_labels,
    load_churn_frames,
    train_churn,
)
from sophia.business import BusinessStore
from sophia.cli import app
from sophia.config import load_settings
from sophia.store import Database, open_database
from tests.business.generator import generate


async def test_signals_from_the_store_are_the_planted_ones(database: Database) -> None:
    business = generate(11, "small")
    store = BusinessStore(database)
    await store.upsert(business.entities())
    frames = await load_churn_frames(store, source="truth")
    as_of = business.truth.as_of
    features = churn_features(frames, as_of)
    labels = churn_labels(frames["accounts"], as_of)
    assert set(features) == set(business.truth.churn)
    for account_id, truth in business.truth.churn.items():
        got = features[account_id]
        assert got["open_p1_tickets"] == min(truth.open_p1_tickets, 3)
        assert got["champion_left"] == float(truth.champion_left)
        assert labels[account_id] == truth.churned
    declining = [features[a]["login_trend"] for a, t in business.truth.churn.items() if t.declining_logins]
    steady = [features[a]["login_trend"] for a, t in business.truth.churn.items() if not t.declining_logins]
    assert max(declining) < min(steady)


def test_the_model_beats_the_baselines_on_newer_accounts() -> None:
    business = generate(2, "full")
    frames = {
        "accounts": [_row(a) for a in business.accounts],
        "contacts": [_row(c) for c in business.contacts],
        "deals": [_row(d) for d in business.deals],
        "activities": [_row(a) for a in business.activities],
        "usage_weeks": [_row(u) for u in business.usage],
    }
    model = train_churn(frames, business.truth.as_of)
    m = model.metrics
    assert m["auc"] > 0.75 and m["auc"] > m["single_signal_auc"]
    assert m["brier"] < m["base_rate_brier"] and m["brier"] < m["single_signal_brier"]
    assert m["calibration_slope"] > 0 and m["train_accounts"] + m["test_accounts"] == len(
        churn_features(frames, business.truth.as_of)
    )
    assert model.coefficients["login_trend"] < 0 < model.coefficients["open_p1_tickets"]
    assert model.coefficients["champion_left"] > 0
    values = churn_features(frames, business.truth.as_of)
    account_id = next(a for a, t in business.truth.churn.items() if t.champion_left and a in values)
    health = model.health(account_id, values[account_id])
    logit = model.intercept + sum(health.contributions.values())
    assert health.churn_probability == pytest.approx(1 / (1 + math.exp(-logit)))
    assert health.score == round(100 * (1 - health.churn_probability), 1)
    assert "champion_left" in [name for name, _ in health.drivers(top=len(health.contributions))]


def test_the_single_signal_baseline_is_chosen_on_the_training_accounts() -> None:
    """A signal that ranks only the held-out accounts perfectly must not become the baseline: the training
    accounts choose it."""
    business = generate(3, "full")
    frames = _frames(business)
    features = churn_features(frames, business.truth.as_of)
    labels = churn_labels(frames["accounts"], business.truth.as_of)
    created = {a.source_id: a.created_at for a in business.accounts}
    ids = sorted(features, key=lambda i: (created[i], i))
    held = set(ids[int(len(ids) * 0.7) :])
    leak = [  # open_deals leaks the held-out outcome: one more open deal per held-out churner
        {"source_id": f"leak-{i}", "account_id": i, "created_at": business.truth.as_of - timedelta(days=1),
         "close_date": None, "is_won": False}
        for i in ids if i in held and labels[i]
    ]  # fmt: skip
    frames["deals"] = [*frames["deals"], *leak]
    m = train_churn(frames, business.truth.as_of).metrics
    assert FEATURES[int(m["single_signal_index"])] != "open_deals"


def _frames(business: object) -> dict[str, list[dict[str, object]]]:
    b: Any = business
    return {
        "accounts": [_row(a) for a in b.accounts],
        "contacts": [_row(c) for c in b.contacts],
        "deals": [_row(d) for d in b.deals],
        "activities": [_row(a) for a in b.activities],
        "usage_weeks": [_row(u) for u in b.usage],
    }


def _row(record: object) -> dict[str, object]:
    return dict(record.__dict__)


def test_training_on_too_little_data_is_a_typed_error() -> None:
    business = generate(1, "small")
    frames = {"accounts": [_row(a) for a in business.accounts[:5]]}
    with pytest.raises(ChurnError, match="too few accounts"):
        train_churn(frames, business.truth.as_of)


def test_train_then_health_through_the_cli(tmp_path: Path) -> None:
    business = generate(4, "full")

    async def seed() -> None:
        database = await open_database(load_settings(), migrate=True)
        try:
            await BusinessStore(database).upsert(business.entities())
        finally:
            await database.close()

    runner = CliRunner()
    before = runner.invoke(app, ["bi", "health"])
    assert before.exit_code == 2 and "sophia bi train churn" in before.output
    asyncio.run(seed())
    as_of = business.truth.as_of.isoformat()
    trained = runner.invoke(app, ["bi", "train", "churn", "--as-of", as_of, "--json"])
    assert trained.exit_code == 0, trained.output
    saved = json.loads(trained.output)
    home = load_settings().home
    assert Path(saved["path"]) == home / "bi" / "churn.json" and Path(saved["path"]).is_file()
    assert saved["metrics"]["auc"] > saved["metrics"]["base_rate_auc"]
    assert ChurnModel.load(Path(saved["path"])).coefficients == saved["coefficients"]
    health = runner.invoke(app, ["bi", "health", "--as-of", as_of, "--top", "5", "--json"])
    assert health.exit_code == 0, health.output
    rows = json.loads(health.output)
    assert len(rows) == 5
    assert [r["churn_probability"] for r in rows] == sorted(
        (r["churn_probability"] for r in rows), reverse=True
    )
    churned = sum(business.truth.churn[r["account_id"]].churned for r in rows)
    base = sum(t.churned for t in business.truth.churn.values()) / len(business.truth.churn)
    assert churned / 5 > base
    for row in rows:
        assert [i["driver"] for i in row["interventions"]] == row["top_drivers"]
        assert all(i["action"] == INTERVENTIONS[i["driver"]] for i in row["interventions"])
    text = runner.invoke(app, ["bi", "health", "--as-of", as_of, "--account", rows[0]["account_id"]])
    assert text.exit_code == 0 and f"{rows[0]['account_id']}: health" in text.output
    assert f"-> {rows[0]['interventions'][0]['action']}" in text.output
    bad = runner.invoke(app, ["bi", "health", "--as-of", "yesterday"])
    assert bad.exit_code == 2 and "not an ISO date" in bad.output
