"""The BI commands end to end on a generated business through the connectors' HTTP paths: the HubSpot and Gong
stand-in servers, real `sophia sync hubspot` / `sophia sync gong` processes, then real `sophia bi train churn`,
`sophia bi health`, `sophia bi coach --rep NAME --json` and `sophia bi forecast --json` processes, whose answers
are checked against the planted truth; then the strategy agent and a report on the synced records, and the
dashboard's business pages from a real `sophia serve` on the same home."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.business.generator import STAGES, Sizes, generate
from tests.business.standins import gong_standin, hubspot_standin
from tests.serving import clean_env, running_sophia, sophia
from tests.web.conftest import PASSWORD, csrf_of

pytestmark = pytest.mark.timeout(1200)
SIZES = Sizes(
    accounts=100, contacts=200, deals=150, calls=16, activities=250, reps=3, months=30, usage_weeks=8
)
"""Enough accounts of both outcomes to train churn on a time split, 30 months to backtest the forecast."""


def _config(name: str, url: str, credentials: dict[str, str]) -> str:
    creds = ", ".join(f'{k} = "env:{name.upper()}_{k.upper()}"' for k in credentials)
    return f'[connectors.{name}]\nbase_url = "{url}"\ncredentials = {{ {creds} }}\n\n'


def test_bi_commands_after_real_syncs_answer_the_planted_truth(tmp_path: Path) -> None:
    business = generate(8, SIZES)
    home = tmp_path / "home"
    home.mkdir()
    with (
        hubspot_standin(business, throttle_every=30) as hub,
        gong_standin(business, throttle_every=30) as gong,
    ):
        (home / "sophia.toml").write_text(
            _config("hubspot", hub.url, hub.credentials)
            + _config("gong", gong.url, gong.credentials)
            + '[bi.reports.pipeline]\nkind = "pipeline"\nevery = "7d"\ndeliver = []\nsource = "hubspot"\n'
        )
        secrets = {f"HUBSPOT_{k.upper()}": v for k, v in hub.credentials.items()}
        secrets |= {f"GONG_{k.upper()}": v for k, v in gong.credentials.items()}
        env = clean_env(home, COLUMNS="200", **secrets)
        sophia(env, "sync", "hubspot", "--embedder", "hashing")
        sophia(env, "sync", "gong", "--embedder", "hashing")
        hub_ids, gong_ids = dict(hub.data.ids), dict(gong.data.ids)
    as_of = business.truth.as_of.isoformat()

    sophia(env, "bi", "train", "churn", "--as-of", as_of, "--source", "hubspot")
    health = json.loads(
        sophia(env, "bi", "health", "--as-of", as_of, "--source", "hubspot", "--top", "1000", "--json").stdout
    )
    by_id = {h["account_id"]: h for h in health}
    assert len(by_id) == len(business.accounts)  # none churned before as_of
    for account_id, truth in business.truth.churn.items():
        row = by_id[hub_ids[account_id]]
        assert row["values"]["open_p1_tickets"] == min(truth.open_p1_tickets, 3)
        assert row["values"]["champion_left"] == float(truth.champion_left)
        assert [i["driver"] for i in row["interventions"]] == row["top_drivers"]
    text = sophia(env, "bi", "health", "--as-of", as_of, "--source", "hubspot", "--top", "3").stdout
    assert "-> " in text and text.count(": health ") == 3

    rep = business.reps[0]
    report = json.loads(sophia(env, "bi", "coach", "--rep", str(rep.name), "--json").stdout)
    truth = business.truth.reps[rep.source_id]
    assert report["rep"]["rep_id"] == gong_ids[rep.source_id]
    assert report["rep"]["calls"] == truth.calls
    assert report["rep"]["talk_ratio"] == truth.talk_ratio
    assert report["rep"]["questions_per_call"] == truth.questions_per_call
    assert report["rep"]["mean_longest_monologue_ms"] == truth.mean_longest_monologue_ms
    calls = {c["call_id"]: c for c in report["calls"]}
    for call_id, call in business.truth.calls.items():
        if call.rep_id == rep.source_id:
            got = calls[gong_ids[call_id]]
            assert (got["questions"], got["longest_monologue_ms"]) == (
                call.questions,
                call.longest_monologue_ms,
            )

    until = business.now.isoformat()
    forecast = json.loads(
        sophia(env, "bi", "forecast", "--as-of", until, "--source", "hubspot", "--json").stdout
    )
    planted = business.truth.monthly_bookings
    assert forecast["history"] and all(forecast["history"][m] == planted[m] for m in forecast["history"])
    assert set(planted) - set(forecast["history"]) <= {m for m, v in planted.items() if not v}
    labels = {label for _, label, p in STAGES if 0 < p < 1}
    assert {s["label"] for s in forecast["stages"].values()} <= labels
    assert forecast["backtest"]["mape"] >= 0 and len(forecast["bookings"]["points"]) == 6

    lost = [d for d in business.deals if d.is_closed and not d.is_won and d.lost_reason]
    top_reason = max({d.lost_reason for d in lost}, key=lambda r: sum(d.lost_reason == r for d in lost))
    strategy = json.loads(sophia(env, "bi", "strategy", "--embedder", "hashing", "--json").stdout)
    titles = [i["title"] for i in strategy["items"]]
    assert f"Losses on {top_reason}" in titles, titles
    open_deals = sum(not d.is_closed for d in business.deals)
    report = json.loads(sophia(env, "bi", "report", "pipeline", "--no-deliver", "--json").stdout)
    assert report["status"] == "kept" and f"Open pipeline: **{open_deals}** deals" in report["text"]

    with running_sophia(env, home) as server, httpx.Client(base_url=server.url, timeout=120) as web:
        form = {"name": "ada", "password": PASSWORD, "repeat": PASSWORD}
        assert web.post("/setup", data={**form, "csrf_token": csrf_of(web.get("/setup").text)}).is_redirect
        overview = web.get("/bi")
        coach_page = web.get(f"/bi/coach/{gong_ids[rep.source_id]}")
        strategy_page = web.get("/bi/strategy")
    assert overview.status_code == 200, overview.text[-1000:]
    assert f"({open_deals} deals)" in overview.text
    assert coach_page.status_code == 200 and f"{truth.calls} calls against" in coach_page.text
    assert strategy_page.status_code == 200 and top_reason in strategy_page.text
