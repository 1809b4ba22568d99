"""The sales coach: metrics computed from the stored call sentences equal the generator's exact truth, per call
and per rep; phrases become timestamped quotes; `sophia bi coach --rep` reports a rep against the team."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from sophia.bi import CoachPhrases, call_metrics, load_coach
from sophia.business import BusinessStore, CallSentence
from sophia.cli import app
from sophia.config import load_settings
from sophia.store import Database, open_database
from tests.business.generator import NOW, generate
from tests.business.generator import call_metrics as truth_metrics


async def test_every_call_and_rep_metric_equals_the_planted_truth(database: Database) -> None:
    business = generate(5, "small")
    store = BusinessStore(database)
    await store.upsert(business.entities())
    team = await load_coach(store, source="truth")
    assert set(team.calls) == set(business.truth.calls)
    for call_id, truth in business.truth.calls.items():
        got = team.calls[call_id]
        assert got.rep_id == truth.rep_id
        assert got.rep_talk_ms == truth.rep_talk_ms
        assert got.customer_talk_ms == truth.customer_talk_ms
        assert got.questions == truth.questions
        assert got.longest_monologue_ms == truth.longest_monologue_ms
        assert got.talk_ratio == truth.talk_ratio
    for rep_id, rep_truth in business.truth.reps.items():
        if not rep_truth.calls:
            continue
        got_rep = team.reps[rep_id]
        assert got_rep.calls == rep_truth.calls
        assert got_rep.talk_ratio == pytest.approx(rep_truth.talk_ratio, abs=1e-12)
        assert got_rep.questions_per_call == pytest.approx(rep_truth.questions_per_call, abs=1e-12)
        assert got_rep.mean_longest_monologue_ms == pytest.approx(
            rep_truth.mean_longest_monologue_ms, abs=1e-9
        )
    assert team.team is not None and team.team.calls == len(business.calls)


def _sentence(position: int, role: str, start: int, end: int, text: str) -> CallSentence:
    return CallSentence(
        source="gong",
        source_kind="gong",
        source_id=f"c1:{position}",
        updated_at=NOW - timedelta(days=1),
        call_id="c1",
        position=position,
        speaker_id="s0" if role == "rep" else "s1",
        speaker_role=role,
        start_ms=start,
        end_ms=end,
        text=text,
    )


def _row(sentence: CallSentence) -> dict[str, object]:
    return dataclasses.asdict(sentence)


_turns = st.lists(
    st.tuples(st.sampled_from(["rep", "customer"]), st.integers(1, 9000), st.integers(0, 900), st.booleans()),
    min_size=1,
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(_turns)
def test_any_transcript_gives_the_truth_definitions(turns: list[tuple[str, int, int, bool]]) -> None:
    clock, sentences = 0, []
    for position, (role, length, gap, asks) in enumerate(turns):
        sentences.append(_sentence(position, role, clock, clock + length, "Why?" if asks else "Yes."))
        clock += length + gap
    truth = truth_metrics("r1", sentences)
    got = call_metrics("c1", "r1", [_row(s) for s in reversed(sentences)])
    assert (got.rep_talk_ms, got.customer_talk_ms, got.questions, got.longest_monologue_ms) == (
        truth.rep_talk_ms,
        truth.customer_talk_ms,
        truth.questions,
        truth.longest_monologue_ms,
    )
    switches = sum(a[0] != b[0] for a, b in zip(turns, turns[1:], strict=False))
    span = sentences[-1].end_ms - sentences[0].start_ms
    assert got.interactivity == pytest.approx(switches / (span / 60000))


def test_next_steps_objections_and_competitors_are_timestamped_quotes() -> None:
    sentences = [
        _sentence(0, "rep", 0, 4000, "Thanks for joining."),
        _sentence(1, "customer", 4500, 9000, "Honestly this looks too expensive next to Acme CRM."),
        _sentence(2, "rep", 9500, 14000, "As a next step I will send over the pricing by Friday."),
        _sentence(3, "customer", 14500, 16000, "We have a concern about the rollout."),
    ]
    got = call_metrics("c1", "r1", [_row(s) for s in sentences], CoachPhrases(competitors=("Acme CRM",)))
    assert [(q.start_ms, q.sentence_id, q.matched) for q in got.objections] == [
        (4500, "c1:1", "too expensive"),
        (14500, "c1:3", "concern"),
    ]
    assert [(q.start_ms, q.speaker_role) for q in got.next_steps] == [(9500, "rep")]
    assert [q.text for q in got.competitor_mentions] == [
        "Honestly this looks too expensive next to Acme CRM."
    ]


def test_sophia_bi_coach_reports_a_rep_against_the_team() -> None:
    business = generate(7, "small")

    async def seed() -> None:
        database = await open_database(load_settings(), migrate=True)
        try:
            await BusinessStore(database).upsert(business.entities())
        finally:
            await database.close()

    asyncio.run(seed())
    rep_id, truth = next((k, v) for k, v in business.truth.reps.items() if v.calls)
    name = next(r.name for r in business.reps if r.source_id == rep_id)
    runner = CliRunner()
    result = runner.invoke(app, ["bi", "coach", "--rep", name.upper(), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["rep"]["rep_id"] == rep_id
    assert report["rep"]["calls"] == truth.calls
    assert report["rep"]["questions_per_call"] == pytest.approx(truth.questions_per_call)
    assert report["team"]["calls"] == len(business.calls)
    assert report["versus_team"]["talk_ratio"] == pytest.approx(
        truth.talk_ratio - report["team"]["talk_ratio"]
    )
    assert len(report["calls"]) == truth.calls
    text = runner.invoke(app, ["bi", "coach"])
    assert text.exit_code == 0 and f"{name}: {truth.calls} calls" in text.output
    missing = runner.invoke(app, ["bi", "coach", "--rep", "Nobody"])
    assert missing.exit_code == 2 and "no rep 'Nobody'" in missing.output
