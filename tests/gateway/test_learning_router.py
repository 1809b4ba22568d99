"""Routing that learns: outcomes by request id update a Beta posterior per (task, model); the router follows it."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from sophia.errors import InvalidInput, NotFound
from sophia.gateway import Caller, QualityBook
from sophia.store import Database
from tests.gateway.test_gateway_core import BACKUP, CHEAP, SMART, body, make_gateway, scripted

ME = Caller(user_id="7", api_key_id="70")


def providers() -> dict[str, object]:
    return {p: scripted(p) for p in ("p_cheap", "p_smart", "p_backup")}


@pytest.mark.parametrize("policy", ["quality", "balanced"])
async def test_the_router_moves_traffic_to_the_model_the_fed_outcomes_favour(
    database: Database, policy: str
) -> None:
    gateway = make_gateway(database, providers(), policy=policy)  # type: ignore[arg-type]
    gateway.router.quality = QualityBook(database, rng=random.Random(7))
    coding = body("fix this python function", model="sophia/coding")
    before = gateway.router.plan(coding).candidates[0].name
    assert before != "cheap"  # the static table (the prior) prefers another model
    served: list[str] = []
    for number in range(150):
        _, outcome = await gateway.complete(coding, ME, f"r{number}")
        served.append(outcome.model.name)
        # The outcomes say: on coding, only `backup`'s answers pass the tests.
        await gateway.record_outcome(
            f"r{number}", 1.0 if outcome.model.name == "backup" else 0.0, source="run"
        )
    late = Counter(served[-50:])
    assert late["backup"] >= 40, late
    creative = body("hello there", model="sophia/creative")  # no evidence on this task: the static order
    fresh = make_gateway(database, providers(), policy=policy)  # type: ignore[arg-type]
    assert gateway.router.plan(creative).candidates == fresh.router.plan(creative).candidates
    await gateway.ledger.flush()

    reloaded = QualityBook(database)
    await reloaded.load()
    smart, backup = (
        reloaded.estimate("coding", "smart", SMART.quality),
        reloaded.estimate("coding", "backup", 0.7),
    )
    assert backup.mean > 0.8 and smart.mean < SMART.quality - 0.3 and smart.evidence >= 1
    assert (
        smart.evidence + backup.evidence + reloaded.estimate("coding", "cheap", CHEAP.quality).evidence == 150
    )


async def test_without_evidence_routing_is_the_static_table_and_deterministic(database: Database) -> None:
    gateway = make_gateway(database, providers(), policy="quality")  # type: ignore[arg-type]
    orders = {
        tuple(e.name for e in gateway.router.plan(body("x", model="sophia/coding")).candidates)
        for _ in range(20)
    }
    assert len(orders) == 1 and next(iter(orders))[0] == "smart"
    assert BACKUP.quality < SMART.quality


async def test_an_outcome_needs_a_known_request_of_the_caller_and_a_score_in_range(
    database: Database,
) -> None:
    gateway = make_gateway(database, providers())  # type: ignore[arg-type]
    await gateway.complete(body("hi", model="cheap"), ME, "mine")
    with pytest.raises(NotFound):
        await gateway.record_outcome("nobody-made-this", 1.0)
    with pytest.raises(NotFound):
        await gateway.record_outcome("mine", 1.0, user_id="someone-else")
    with pytest.raises(InvalidInput):
        await gateway.record_outcome("mine", 1.5)
    with pytest.raises(InvalidInput):
        await gateway.record_outcome("mine", 1.0, source="gossip")
    assert await gateway.record_outcome("mine", 0.0, user_id="7") == ("general", "cheap")
    await gateway.ledger.flush()
    assert await gateway.record_outcome("mine", 1.0) == ("general", "cheap")  # written rows are found too
    assert gateway.router.quality.estimate("general", "cheap", 0.5).evidence == 2
