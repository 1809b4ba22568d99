"""Experiment variants beyond models: prompt templates, temperature and memory recall change what is sent, are
refused clearly when wrong, and a promoted one changes the task's requests from then on."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sophia.errors import InvalidInput
from sophia.gateway import Caller, Experiment, ExperimentBook, InvalidVariant, QualityBook, Variant
from sophia.store import Database
from tests.gateway.test_gateway_core import body, make_gateway, scripted

PROMPTS = {"terse": "Answer in one short sentence."}


def test_a_variant_reads_every_setting() -> None:
    variant = Variant.parse("b=model:fast,temperature:0.2,prompt:terse,recall:graph,k:3")
    assert (variant.name, variant.model, variant.temperature, variant.prompt) == ("b", "fast", 0.2, "terse")
    assert (variant.recall, variant.k) == ("graph", 3)
    assert str(variant) == "b=model:fast,temperature:0.2,prompt:terse,recall:graph,k:3"
    assert Variant.parse("a=model:fast") == Variant("a", model="fast")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("a=cheap", "SETTING:VALUE"),
        ("a", "NAME=SETTING:VALUE"),
        ("a=colour:red", 'unknown setting "colour"'),
        ("a=temperature:hot", "temperature must be a number from 0 to 2"),
        ("a=temperature:2.5", "temperature must be a number from 0 to 2"),
        ("a=temperature:nan", "temperature must be a number from 0 to 2"),
        ("a=recall:everything", "recall must be one of none, hybrid, graph"),
        ("a=k:0", "k must be a whole number from 1 to 50"),
        ("a=k:-3", "k must be a whole number from 1 to 50"),
        ("a=model:x,model:y", '"model" is given twice'),
        ("a=prompt:has space", "prompt names a template"),
        ("a=model:", "SETTING:VALUE"),
    ],
)
def test_a_bad_variant_is_refused_with_a_typed_error_that_says_why(text: str, says: str) -> None:
    with pytest.raises(InvalidVariant, match=says) as raised:
        Variant.parse(text)
    assert isinstance(raised.value, InvalidInput) and raised.value.code == "invalid_variant"


@given(
    name=st.from_regex(r"[a-z][a-z0-9_-]{0,10}", fullmatch=True),
    model=st.none() | st.from_regex(r"[a-z][a-z0-9./-]{0,20}", fullmatch=True),
    temperature=st.none() | st.floats(0, 2, allow_nan=False).map(lambda t: round(t, 2)),
    prompt=st.none() | st.sampled_from(["terse", "formal.v2"]),
    recall=st.none() | st.sampled_from(["none", "hybrid", "graph"]),
    k=st.none() | st.integers(1, 50),
)
def test_a_variant_survives_its_written_form(
    name: str,
    model: str | None,
    temperature: float | None,
    prompt: str | None,
    recall: str | None,
    k: int | None,
) -> None:
    variant = Variant(name, model, temperature, prompt, recall, k)
    if not variant.settings:
        return
    assert Variant.parse(str(variant)) == variant


def test_applying_a_variant_never_changes_the_callers_body() -> None:
    original = body("hi", temperature=0.9)
    sent = Variant.parse("b=temperature:0.1,prompt:terse").apply(original, PROMPTS)
    assert original == body("hi", temperature=0.9)
    assert sent["temperature"] == 0.1
    assert sent["messages"] == [{"role": "system", "content": PROMPTS["terse"]}, *original["messages"]]
    assert Variant.parse("a=model:cheap").apply(original, PROMPTS) is original


async def test_an_unknown_prompt_template_is_refused_when_the_cli_creates_it(database: Database) -> None:
    book = ExperimentBook(database, prompts=PROMPTS, check_prompts=True)
    with pytest.raises(InvalidVariant, match=r'prompt "chatty" is not one of the learning.prompts \(terse\)'):
        await book.create("x", "coding", ["a=model:cheap", "b=prompt:chatty"])


async def test_temperature_and_prompt_variants_change_the_upstream_request(database: Database) -> None:
    providers = {p: scripted(p) for p in ("p_cheap", "p_smart", "p_backup")}
    gateway = make_gateway(database, providers)
    gateway.experiments = ExperimentBook(database, prompts=PROMPTS)
    experiment = await gateway.experiments.create(
        "tone", "creative", ["a=model:cheap", "b=model:cheap,temperature:0.2,prompt:terse"]
    )
    users = {
        arm: next(u for u in (f"u{i}" for i in range(100)) if _arm(experiment, u) == arm) for arm in "ab"
    }
    for arm, user in users.items():
        await gateway.complete(
            body("write a poem", model="sophia/creative"), Caller(user_id=user), f"r-{arm}"
        )
    (sent_a, sent_b) = providers["p_cheap"].calls
    assert "temperature" not in sent_a and sent_a["messages"][0]["role"] == "user"
    assert sent_b["temperature"] == 0.2
    assert sent_b["messages"][0] == {"role": "system", "content": PROMPTS["terse"]}
    assert sent_b["messages"][1:] == sent_a["messages"]
    labels = [(await gateway.ledger.find(f"r-{arm}")) for arm in "ab"]
    assert [found[3] if found else None for found in labels] == ["tone:a", "tone:b"]
    await gateway.aclose()


async def test_a_promoted_prompt_and_temperature_variant_applies_to_the_tasks_requests(
    database: Database,
) -> None:
    providers = {p: scripted(p) for p in ("p_cheap", "p_smart", "p_backup")}
    gateway = make_gateway(database, providers)
    gateway.router.quality = QualityBook(database)
    gateway.experiments = ExperimentBook(database, prompts=PROMPTS)
    await gateway.experiments.create(
        "tone", "creative", ["a=model:cheap", "b=model:cheap,temperature:0.3,prompt:terse"]
    )
    rng = random.Random(11)
    poem = body("write a poem", model="sophia/creative")
    for number in range(2000):
        await gateway.complete(poem, Caller(user_id=f"u{number % 300}"), f"r{number}")
        sent = providers["p_cheap"].calls[-1]
        good = rng.random() < (0.75 if sent.get("temperature") == 0.3 else 0.45)  # planted: b is better
        await gateway.record_outcome(f"r{number}", 1.0 if good else 0.0, source="feedback")
        if gateway.experiments.promoted:
            break
    assert gateway.experiments.promoted["creative"] == Variant.parse(
        "b=model:cheap,temperature:0.3,prompt:terse"
    )
    # A new server reads the promotion from the database, and every creative request now carries the variant.
    await gateway.ledger.flush()
    fresh = ExperimentBook(database, prompts=PROMPTS)
    await fresh.load()
    assert fresh.promoted == gateway.experiments.promoted and not fresh.running
    gateway.experiments = fresh
    await gateway.complete(poem, Caller(user_id="newcomer"), "late")
    late = providers["p_cheap"].calls[-1]
    assert late["temperature"] == 0.3 and late["messages"][0]["content"] == PROMPTS["terse"]
    assert (await gateway.ledger.find("late")) is not None
    # Other tasks are left alone.
    await gateway.complete(body("fix this python function", model="sophia/coding"), Caller(user_id="x"), "c1")
    coding: dict[str, Any] = next(
        p.calls[-1]
        for p in providers.values()
        if p.calls and p.calls[-1]["messages"][-1]["content"].startswith("fix")
    )
    assert "temperature" not in coding and coding["messages"][0]["role"] == "user"
    await gateway.aclose()


def _arm(experiment: Experiment, user: str) -> str | None:
    variant = experiment.assign(user)
    return variant.name if variant is not None else None
