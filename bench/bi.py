"""BI quality on a generated business with planted truth, measured against baselines in the same run.

    .venv/bin/python bench/bi.py [--seed N] [--size small|full] [--model scripted|local|NAME]

Builds the business (tests/business/generator.py), serves it from the HubSpot and Gong stand-in servers and loads
it through the connectors' sync path (real HTTP, `to_business`) into a real SQLite store under a temporary
SOPHIA_HOME; weekly product usage has no connector, so its rows are written straight in, keyed to the synced
HubSpot account ids. Then reports:
- churn: held-out AUC and Brier against the base rate and the single signal chosen on the training accounts;
- forecast: backtest MAPE of ETS against seasonal naive;
- coach: metric errors against the planted truth, per call and per rep (counts must be exact);
- questions (bench/data/bi_questions.json, gold answers from bench/bi_gold.py): share answered correctly by the
  scripted model (it writes the template's SQL and words the rows plainly) and, with --model, by that model
  through the gateway (`local` = the bundled SmolLM2-135M); traceable = share of given answers whose every number
  is in the query result they cite.
The last line is `bi: churn_auc=… baseline_auc=… brier=… forecast_mape=… naive_mape=… answered=… traceable=…`.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from bench.bi_gold import correct, questions  # noqa: E402
from tests.agents.conftest import build_gateway as scripted_gateway  # noqa: E402
from tests.business.generator import SIZES, Business, Sizes, generate  # noqa: E402
from tests.business.standins import connect, gong_standin, hubspot_standin, pull  # noqa: E402

QUESTIONS = ROOT / "bench" / "data" / "bi_questions.json"
BENCH_SIZES = {
    "full": SIZES["full"],
    "small": Sizes(
        accounts=120, contacts=240, deals=150, calls=24, activities=300, reps=4, months=30, usage_weeks=12
    ),
}
"""small: the fewest records that still train churn (enough accounts of both outcomes on a time split) and
backtest the forecast (30 months); the generator's own "small" has too few for either."""


async def _sync(business: Business, store: Any) -> dict[str, dict[str, str]]:
    """HubSpot and Gong through their stand-ins into `store`; per service, the generator id → its id map."""
    maps: dict[str, dict[str, str]] = {}
    for standin in (hubspot_standin, gong_standin):
        with standin(business, throttle_every=None) as service:
            connector = connect(service)
            records = await pull(connector)
            await store.upsert([e for r in records for e in connector.to_business(r)])
            await connector.aclose()
            maps[service.kind] = dict(service.data.ids)
    ids = maps["hubspot"]
    usage = [
        dataclasses.replace(
            u, source="product", source_id=f"{ids[u.account_id]}:{u.source_id}", account_id=ids[u.account_id]
        )
        for u in business.usage
    ]
    await store.upsert(usage)
    return maps


def _coach_errors(business: Business, team: Any, gong_ids: dict[str, str]) -> dict[str, float]:
    """Per-call count mismatches (talk ms, questions, longest monologue), and per rep the call-count errors and
    the largest absolute error of each aggregate, against the planted truth."""
    names = {r.source_id: r.name for r in business.reps}
    by_name = {r.name: r for r in team.reps.values()}
    mismatched = 0
    for call_id, t in business.truth.calls.items():
        g = team.calls.get(gong_ids.get(call_id, ""))
        mismatched += g is None or (
            t.rep_talk_ms,
            t.customer_talk_ms,
            t.questions,
            t.longest_monologue_ms,
        ) != (
            g.rep_talk_ms,
            g.customer_talk_ms,
            g.questions,
            g.longest_monologue_ms,
        )
    reps = [(t, by_name.get(names[t.rep_id])) for t in business.truth.reps.values()]
    return {
        "calls": float(len(team.calls)),
        "call_mismatches": float(mismatched),
        "rep_call_count_errors": float(sum(g is None or g.calls != t.calls for t, g in reps)),
        "talk_ratio_max_error": max(abs(t.talk_ratio - g.talk_ratio) if g else 1.0 for t, g in reps),
        "questions_per_call_max_error": max(
            abs(t.questions_per_call - g.questions_per_call) if g else 1e9 for t, g in reps
        ),
        "monologue_ms_max_error": max(
            abs(t.mean_longest_monologue_ms - g.mean_longest_monologue_ms) if g else 1e9 for t, g in reps
        ),
    }


def _plain(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.4f}".rstrip("0").rstrip(".")
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _scripted(asked: dict[str, str | None]) -> Any:
    """The scripted model: the template's SQL for a question; the rows worded plainly for the answer."""

    def script(body: dict[str, Any]) -> str:
        user = str(body["messages"][-1]["content"])
        if "Result rows: " not in user:
            return json.dumps({"sql": asked.get(user)})
        rows = json.loads(user.split("Result rows: ", 1)[1])
        shown = [
            ", ".join(
                f"{k} {_plain(v)}" for k, v in row.items() if k not in ("source", "source_id", "source_url")
            )
            for row in rows[:10]
        ]
        return json.dumps({"answer": "; ".join(shown) + "."})

    return script


async def _ask_all(items: list[dict[str, Any]], frames: Any, model: Any) -> dict[str, float]:
    from sophia.bi import ask, untraceable_numbers

    right, given, traced, failures = 0, 0, 0, []
    for item in items:
        answer = await ask(item["question"], frames, model)
        ok = correct(item["gold"], answer.answered, answer.text)
        right += ok
        if answer.answered:
            given += 1
            traced += not untraceable_numbers(answer.text, answer.rows, item["question"])
        if not ok:
            failures.append(f"{item['id']}: {answer.text[:80]!r} ({answer.refused or 'wrong'})"[:160])
    for line in failures[:8]:
        print(f"    miss {line}")
    return {
        "answered": right / len(items),
        "given": float(given),
        "traceable": traced / given if given else 1.0,
    }


async def _questions(business: Business, frames: Any, database: Any, model_name: str) -> dict[str, Any]:
    from sophia.bi import gateway_model
    from sophia.config import load_settings
    from sophia.gateway import Caller, build_gateway
    from sophia.gateway.providers import ScriptedProvider

    items = questions(json.loads(QUESTIONS.read_text())["templates"], business)
    asked = {i["question"]: i["sql"] for i in items}
    gateway = scripted_gateway(database, ScriptedProvider(_scripted(asked), name="scripted"))
    try:
        out: dict[str, Any] = {
            "questions": len(items),
            "scripted": await _ask_all(items, frames, gateway_model(gateway, Caller(), "scripted")),
        }
    finally:
        await gateway.aclose()
    if model_name != "scripted":
        real = await build_gateway(load_settings(), database)
        try:
            out[model_name] = await _ask_all(items, frames, gateway_model(real, Caller(), model_name))
        finally:
            await real.aclose()
    return out


async def run(seed: int, size: str, model_name: str) -> dict[str, Any]:
    from sophia.bi import load_churn_frames, load_coach, load_forecast, train_churn
    from sophia.business import BusinessStore
    from sophia.config import load_settings
    from sophia.store import open_database

    business = generate(seed, BENCH_SIZES[size])
    database = await open_database(load_settings(), migrate=True)
    try:
        store = BusinessStore(database)
        maps = await _sync(business, store)
        churn = train_churn(await load_churn_frames(store), business.truth.as_of).metrics
        forecast = (await load_forecast(store, until=business.now))["backtest"]
        coach = _coach_errors(business, await load_coach(store, source="gong"), maps["gong"])
        asked = await _questions(business, await store.frames(), database, model_name)
    finally:
        await database.close()
    return {"churn": churn, "forecast": forecast, "coach": coach, "questions": asked}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--size", choices=("small", "full"), default="full")
    parser.add_argument("--model", default="scripted", help="scripted, local, or a gateway model name")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bi-bench-") as home:
        os.environ["SOPHIA_HOME"] = home
        os.environ.pop("SOPHIA_DATABASE_URL", None)
        result = asyncio.run(run(args.seed, args.size, args.model))
    c, f, k, q = result["churn"], result["forecast"], result["coach"], result["questions"]
    baseline = max(c["base_rate_auc"], c["single_signal_auc"])
    print(f"seed {args.seed}, size {args.size}")
    print(
        f"churn: AUC {c['auc']:.3f} vs base rate 0.500 and single signal {c['single_signal_auc']:.3f} "
        f"(ratio {c['auc'] / baseline:.2f}); Brier {c['brier']:.3f} vs base rate {c['base_rate_brier']:.3f} "
        f"(ratio {c['brier'] / c['base_rate_brier']:.2f}), single signal {c['single_signal_brier']:.3f}"
    )
    ratio = f["mape"] / f["naive_mape"]
    print(f"forecast: MAPE {f['mape']:.3f} vs seasonal naive {f['naive_mape']:.3f} (ratio {ratio:.2f})")
    print("coach: " + ", ".join(f"{name} {value:g}" for name, value in k.items()))
    for name, scores in q.items():
        if isinstance(scores, dict):
            print(
                f"questions ({name}): {scores['answered']:.3f} of {q['questions']} correct, "
                f"{int(scores['given'])} answered, traceable {scores['traceable']:.3f}"
            )
    s = q["scripted"]
    print(
        f"bi: churn_auc={c['auc']:.3f} baseline_auc={baseline:.3f} brier={c['brier']:.3f} "
        f"forecast_mape={f['mape']:.3f} naive_mape={f['naive_mape']:.3f} answered={s['answered']:.3f} "
        f"traceable={s['traceable']:.3f}"
    )


if __name__ == "__main__":
    main()
