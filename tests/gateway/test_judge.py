"""The judge: a sampled share of answers is scored off the request path, read strictly, never judged twice over,
dropped (and counted) when the queue is full, and learned from as `source="judge"` outcomes."""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from sophia.config import TASKS
from sophia.gateway import JUDGE_KEY, Caller, Judge, ModelEntry, QualityBook, parse_score
from sophia.gateway._tables import ModelOutcomeRow, UsageRequestRow
from sophia.gateway.providers import ScriptedProvider
from sophia.store import Database
from tests.gateway.test_gateway_core import BACKUP, CHEAP, SMART, body, make_gateway, scripted

JUDGE = ModelEntry("judge", "p_judge", "judge-1", 0.5, 1.0, quality=0.8)


def _gateway(database: Database, judge_replies: Any, judge: Judge) -> tuple[Any, dict[str, ScriptedProvider]]:
    providers = {p: scripted(p) for p in ("p_cheap", "p_smart", "p_backup")}
    providers["p_judge"] = ScriptedProvider(judge_replies, name="p_judge")
    chains = {task: ["cheap", "backup"] for task in TASKS}  # the judge's model never answers users here
    gateway = make_gateway(database, providers, entries=(CHEAP, SMART, BACKUP, JUDGE), chains=chains)
    gateway.router.quality = QualityBook(database)
    gateway.judge = judge
    judge.start(gateway._judged_call, gateway._judged)
    return gateway, providers


@pytest.mark.parametrize(
    ("text", "score"),
    [
        ('{"score": 0.8}', 0.8),
        ('{"score": 1}', 1.0),
        ('{"score": 0}', 0.0),
        ("0.8", None),
        ('{"score": "0.8"}', None),
        ('{"score": true}', None),
        ('{"score": 1.5}', None),
        ('{"score": -0.1}', None),
        ('{"score": 0.5, "why": "ok"}', None),
        ('Sure! {"score": 0.9}', None),
        ("[0.9]", None),
        ("", None),
    ],
)
def test_the_judges_reply_is_read_strictly(text: str, score: float | None) -> None:
    assert parse_score(text) == score


@given(st.text(max_size=40))
def test_no_reply_but_exactly_a_score_object_is_ever_accepted(text: str) -> None:
    found = parse_score(text)
    if found is not None:
        parsed = json.loads(text)
        assert set(parsed) == {"score"} and 0.0 <= found <= 1.0


async def test_a_sampled_answer_is_judged_in_the_background_and_learned_from(database: Database) -> None:
    judge = Judge("judge", sample=1.0)
    gateway, providers = _gateway(database, '{"score": 0.9}', judge)
    _, outcome = await gateway.complete(
        body("write a haiku", model="sophia/creative"), Caller(user_id="u1"), "r1"
    )
    await judge.drain()
    (asked,) = providers["p_judge"].calls
    assert asked["messages"][0]["role"] == "system" and "write a haiku" in asked["messages"][1]["content"]
    assert judge.counts.to_dict() == {"sampled": 1, "judged": 1, "dropped": 0, "off_shape": 0, "failed": 0}
    await gateway.ledger.flush()
    async with database.engine.connect() as connection:
        outcomes = (await connection.execute(sa.select(ModelOutcomeRow.__table__))).mappings().all()
        judged = (
            (
                await connection.execute(
                    sa.select(UsageRequestRow.__table__).where(UsageRequestRow.api_key_id == JUDGE_KEY)
                )
            )
            .mappings()
            .all()
        )
    # One outcome, for the answer (not for the judge's own request, which is never judged).
    assert [(o["request_id"], o["model"], o["score"], o["source"]) for o in outcomes] == [
        ("r1", outcome.model.name, 0.9, "judge")
    ]
    assert [(r["model"], r["user_id"]) for r in judged] == [("judge", None)]  # its own ledger row and key
    assert gateway.router.quality.learned("creative")
    await gateway.aclose()


async def test_an_off_shape_verdict_is_counted_and_ignored(database: Database) -> None:
    judge = Judge("judge", sample=1.0)
    gateway, _ = _gateway(database, "I'd say 0.9 out of 1", judge)
    await gateway.complete(body("hello"), Caller(user_id="u1"), "r1")
    await judge.drain()
    assert judge.counts.off_shape == 1 and judge.counts.judged == 0
    assert not gateway.router.quality.known()
    await gateway.aclose()


async def test_only_the_sample_and_the_chosen_tasks_are_judged(database: Database) -> None:
    judge = Judge("judge", sample=0.25, tasks=["coding"], rng=random.Random(5))
    gateway, providers = _gateway(database, '{"score": 0.5}', judge)
    for number in range(200):
        await gateway.complete(
            body("fix this python function", model="sophia/coding"), Caller(), f"c{number}"
        )
        await gateway.complete(body("write a poem", model="sophia/creative"), Caller(), f"p{number}")
    await judge.drain()
    asked = [call["messages"][1]["content"] for call in providers["p_judge"].calls]
    assert 30 <= len(asked) <= 70 and all("python" in text for text in asked)
    assert judge.counts.judged == judge.counts.sampled == len(asked)
    await gateway.aclose()


async def test_a_full_queue_drops_and_counts_instead_of_waiting(database: Database) -> None:
    asked, release = asyncio.Event(), asyncio.Event()

    async def slow_judge(_: dict[str, Any]) -> str:
        asked.set()
        await release.wait()
        return '{"score": 1}'

    judge = Judge("judge", sample=1.0, queue_size=2)
    gateway, _ = _gateway(database, slow_judge, judge)
    await gateway.complete(body("hello"), Caller(user_id="u1"), "r0")
    await asked.wait()
    for number in range(1, 6):
        await gateway.complete(body("hello"), Caller(user_id="u1"), f"r{number}")  # never waits for the judge
    # One answer is with the judge, two wait in the queue, three were dropped.
    assert judge.counts.sampled == 6 and judge.counts.dropped == 3
    release.set()
    await judge.drain()
    assert judge.counts.judged == 3
    await gateway.aclose()


async def test_a_streamed_answer_is_judged_from_what_was_delivered(database: Database) -> None:
    judge = Judge("judge", sample=1.0)
    gateway, providers = _gateway(database, '{"score": 0.2}', judge)
    _, chunks = await gateway.open_stream(body("stream me", stream=True), Caller(user_id="u1"), "s1")
    pieces = [c["choices"][0]["delta"].get("content") or "" async for c in chunks if c.get("choices")]
    text = "".join(pieces)
    await judge.drain()
    (asked,) = providers["p_judge"].calls
    assert text and text in asked["messages"][1]["content"]
    assert judge.counts.judged == 1
    await gateway.aclose()
