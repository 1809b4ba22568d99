"""Experiments: stable splits, a sequential test that promotes a planted winner and rarely a false one, promotion
into routing, and the CLI and dashboard that show them."""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sophia.cli import app as cli_app
from sophia.errors import Conflict, InvalidInput
from sophia.gateway import ArmStats, Caller, Experiment, ExperimentBook, QualityBook, Variant, compare
from sophia.store import Database, upgrade
from tests.gateway.test_gateway_core import body, make_gateway, scripted

ALPHA = 0.05


def _simulate(p_a: float, p_b: float, rng: random.Random, max_samples: int = 400) -> str | None:
    """One experiment, outcome by outcome, with the test looked at after every pair; the promoted arm or None."""
    arms = {"a": ArmStats(), "b": ArmStats()}
    for _ in range(max_samples):
        arms["a"].add(1.0 if rng.random() < p_a else 0.0)
        arms["b"].add(1.0 if rng.random() < p_b else 0.0)
        verdict = compare(arms, alpha=ALPHA)
        if verdict is not None and verdict.significant:
            return verdict.better
    return None


def test_with_no_real_difference_the_false_promotion_rate_stays_under_alpha() -> None:
    rng = random.Random(20261207)
    for p in (0.5, 0.8):
        runs = 300
        promoted = sum(_simulate(p, p, rng) is not None for _ in range(runs))
        assert promoted / runs <= ALPHA, (p, promoted)


def test_a_planted_winner_is_promoted_nearly_always_and_the_loser_never() -> None:
    rng = random.Random(7)
    outcomes = Counter(_simulate(0.4, 0.6, rng) for _ in range(150))
    assert outcomes["b"] >= 145 and outcomes["a"] == 0, outcomes


def test_the_split_is_stable_per_subject_and_keeps_to_the_share() -> None:
    experiment = Experiment(
        "e", "coding", [Variant.parse("a=model:cheap"), Variant.parse("b=model:smart")], 0.2, 0.05, 100
    )
    assigned = [experiment.assign(f"user-{i}") for i in range(5000)]
    inside = [v for v in assigned if v is not None]
    assert 0.17 < len(inside) / 5000 < 0.23
    assert 0.45 < Counter(v.name for v in inside)["a"] / len(inside) < 0.55
    assert all(experiment.assign(f"user-{i}") == assigned[i] for i in range(200))


async def test_bad_experiments_are_refused_clearly(database: Database) -> None:
    book = ExperimentBook(database)
    with pytest.raises(InvalidInput, match="SETTING:VALUE"):
        await book.create("x", "coding", ["a=cheap", "b=model:smart"])
    with pytest.raises(InvalidInput, match="two"):
        await book.create("x", "coding", ["a=model:cheap"])
    with pytest.raises(InvalidInput, match="task"):
        await book.create("x", "cooking", ["a=model:cheap", "b=model:smart"])
    await book.create("x", "coding", ["a=model:cheap", "b=model:smart"])
    with pytest.raises(Conflict):
        await book.create("y", "coding", ["a=model:cheap", "b=model:smart"])


async def test_an_experiment_made_with_the_cli_splits_traffic_promotes_its_winner_and_shows_the_evidence(
    _isolated_sophia_home: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{_isolated_sophia_home / 'sophia.db'}"
    await upgrade(url)
    runner = CliRunner()
    created = await asyncio.to_thread(
        runner.invoke,
        cli_app,
        ["experiments", "create", "fast-vs-smart", "--task", "coding", "--variant", "a=model:backup",
         "--variant", "b=model:cheap", "--share", "0.5"],
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    async with Database(url) as database:
        gateway = make_gateway(database, {p: scripted(p) for p in ("p_cheap", "p_smart", "p_backup")})
        gateway.router.quality = QualityBook(database)  # outcomes are stored, as build_gateway's are
        gateway.experiments = ExperimentBook(database)
        await gateway.experiments.load()
        coding = body("fix this python function please", model="sophia/coding")
        served: Counter[str] = Counter()
        rng = random.Random(3)
        for number in range(1200):
            user = f"u{number % 400}"
            _, outcome = await gateway.complete(coding, Caller(user_id=user), f"r{number}")
            served[outcome.model.name] += 1
            good = rng.random() < (0.7 if outcome.model.name == "cheap" else 0.45)  # planted: cheap is better
            await gateway.record_outcome(f"r{number}", 1.0 if good else 0.0, source="run")
            if gateway.experiments.promoted:
                break
        assert {t: v.model for t, v in gateway.experiments.promoted.items()} == {"coding": "cheap"}, served
        assert served["backup"] > 0 and served["cheap"] > 0
        # Promoted: every user's coding traffic now goes to the winner first.
        plans = {
            (await gateway.complete(coding, Caller(user_id=f"late{i}"), f"late{i}"))[1].model.name
            for i in range(20)
        }
        assert plans == {"cheap"}
        await gateway.ledger.flush()
    shown = await asyncio.to_thread(runner.invoke, cli_app, ["experiments", "show", "fast-vs-smart"])
    assert shown.exit_code == 0, shown.output
    assert "promoted" in shown.output and "mSPRT statistic" in shown.output and "winner: b" in shown.output
    listed = await asyncio.to_thread(runner.invoke, cli_app, ["experiments", "list", "--json"])
    (found,) = json.loads(listed.output)
    assert found["status"] == "promoted" and found["winner"] == "b"
    assert found["evidence"]["statistic"] >= found["evidence"]["threshold"] == pytest.approx(1 / ALPHA)
    assert sum(arm["n"] for arm in found["arms"].values()) > 60
