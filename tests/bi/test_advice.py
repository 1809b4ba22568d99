"""Coaching advice: the model's items are kept only when they cite a moment (call id + mm:ss) of the rep's own
calls and are the asked shape; anything else is dropped and never shown — through the gateway with a scripted
model, and `sophia bi coach --advice` as a real process against an OpenAI-shaped upstream on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi import FastAPI, Request

from sophia.bi import Quote, RepMetrics, TeamCoach, coach_advice, gateway_model, load_coach, timestamp
from sophia.business import BusinessStore
from sophia.gateway import Caller
from sophia.gateway.providers import ScriptedProvider
from sophia.store import Database
from tests.agents.conftest import build_gateway
from tests.business.generator import generate
from tests.serving import clean_env, serve_app, sophia


def test_timestamps_are_minutes_and_seconds() -> None:
    assert [timestamp(ms) for ms in (0, 59_999, 61_000, 3_725_000)] == ["00:00", "00:59", "01:01", "62:05"]


def _rep_and_moments(team: TeamCoach) -> tuple[RepMetrics, list[Quote]]:
    rep = next(iter(team.reps.values()))
    moments = [q for c in team.calls.values() if c.rep_id == rep.rep_id for q in c.moments()]
    return rep, moments


async def test_only_advice_citing_a_real_moment_is_kept(database: Database) -> None:
    business = generate(5, "small")
    store = BusinessStore(database)
    await store.upsert(business.entities())
    team = await load_coach(store, source="truth")
    rep, moments = _rep_and_moments(team)
    other = next(c for c in team.calls.values() if c.rep_id != rep.rep_id and c.longest_monologue)
    good = moments[0]
    outputs = {
        "good": {
            "advice": [
                {"text": f"Break up the monologue at {timestamp(good.start_ms)}.", "call_id": good.call_id,
                 "at": timestamp(good.start_ms)},
                {"text": "Made-up moment.", "call_id": good.call_id, "at": "99:59"},
                {"text": "Another rep's call.", "call_id": other.call_id,
                 "at": timestamp(other.longest_monologue.start_ms)},  # type: ignore[union-attr]
                {"text": "Cites a stray time 98:00 in its text.", "call_id": good.call_id,
                 "at": timestamp(good.start_ms)},
                {"text": "", "call_id": good.call_id, "at": timestamp(good.start_ms)},
            ]
        },
        "prose": "You should ask more questions!",
        "wrong shape": {"advice": "ask more questions"},
    }  # fmt: skip
    current = {"name": "good"}

    def script(body: dict[str, Any]) -> str:
        user = str(body["messages"][-1]["content"])
        assert f"{good.call_id} {timestamp(good.start_ms)} rep" in user  # the moments are offered
        out = outputs[current["name"]]
        return out if isinstance(out, str) else orjson.dumps(out).decode()

    gateway = build_gateway(database, ScriptedProvider(script, name="scripted"))
    model = gateway_model(gateway, Caller(), "scripted")
    try:
        kept = await coach_advice(team, rep, model)
        current["name"] = "prose"
        prose = await coach_advice(team, rep, model)
        current["name"] = "wrong shape"
        shaped = await coach_advice(team, rep, model)
    finally:
        await gateway.aclose()
    assert [(i.text, i.quote) for i in kept.items] == [
        (f"Break up the monologue at {timestamp(good.start_ms)}.", good)
    ]
    assert len(kept.dropped) == 4
    assert any("99:59 is not one of the call's quotes" in d for d in kept.dropped)
    assert any(other.call_id in d for d in kept.dropped)
    assert any("98:00" in d for d in kept.dropped)
    assert prose.items == [] and shaped.items == [] and "not {" in prose.dropped[0] + shaped.dropped[0]


@contextmanager
def _upstream(content: str) -> Iterator[str]:
    """An OpenAI-compatible chat endpoint answering every request with `content`, as the API documents."""
    api = FastAPI()

    @api.post("/v1/chat/completions")
    async def chat(request: Request) -> dict[str, Any]:
        body = await request.json()
        return {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 1765000000,
            "model": body["model"],
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
        }

    with serve_app(api) as url:
        yield f"{url}/v1"


@pytest.mark.timeout(300)
def test_sophia_bi_coach_advice_shows_only_cited_advice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from sophia.config import load_settings
    from sophia.store import open_database

    business = generate(5, "small")
    home = tmp_path / "home"
    home.mkdir()
    env = clean_env(home, COLUMNS="200", COACH_KEY="sk-test")
    monkeypatch.setenv("SOPHIA_HOME", str(home))
    monkeypatch.delenv("SOPHIA_DATABASE_URL", raising=False)

    async def seed() -> TeamCoach:
        database = await open_database(load_settings(), migrate=True)
        try:
            store = BusinessStore(database)
            await store.upsert(business.entities())
            return await load_coach(store, source="truth")
        finally:
            await database.close()

    team = asyncio.run(seed())
    rep, moments = _rep_and_moments(team)
    good = moments[0]
    content = json.dumps(
        {
            "advice": [
                {
                    "text": "Pause and ask a question here.",
                    "call_id": good.call_id,
                    "at": timestamp(good.start_ms),
                },
                {"text": "Invented moment.", "call_id": good.call_id, "at": "99:59"},
            ]
        }
    )
    with _upstream(content) as base_url:
        (home / "sophia.toml").write_text(
            f'[[providers]]\nname = "coachup"\nkind = "openai-compatible"\nbase_url = "{base_url}"\n'
            'api_key = "env:COACH_KEY"\nmax_retries = 0\n\n'
            '[[models]]\nname = "coach"\nprovider = "coachup"\nmodel = "coach-1"\n'
        )
        shown = sophia(env, "bi", "coach", "--rep", str(rep.name), "--advice", "--model", "coach", "--json")
        text = sophia(env, "bi", "coach", "--rep", str(rep.name), "--advice", "--model", "coach")
        refused = sophia(env, "bi", "coach", "--advice", check=False)
    report = json.loads(shown.stdout)
    assert [(i["call_id"], i["at"], i["text"]) for i in report["advice"]["items"]] == [
        (good.call_id, timestamp(good.start_ms), "Pause and ask a question here.")
    ]
    assert report["advice"]["dropped"] == [f"{good.call_id} 99:59 is not one of the call's quotes"]
    assert "Pause and ask a question here." in text.stdout and "Invented moment" not in text.stdout
    assert refused.returncode == 2 and "--rep" in refused.stderr + refused.stdout
