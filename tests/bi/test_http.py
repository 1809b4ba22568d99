"""`/v1/bi/*` on the app with a generated business in its database and the scripted model: role and scope checks,
409 before a churn model is trained, 422 on bad parameters, answers with SQL, citations and a chart, a durable
`bi` run queued with `"run": true` and executed by the hosted worker; and the `bi.ask` tool through the web chat."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from sophia.accounts import Role
from sophia.business import BusinessStore
from sophia.config import Settings
from sophia.gateway.providers import ScriptedProvider
from sophia.runs import TERMINAL_STATUSES
from sophia.server import Services, create_app
from sophia.server.web import WebOptions
from tests.bi.scripted import ADVICE, AT_RISK, BOOKINGS, WON, bi_script, with_next_steps
from tests.business.generator import Business, generate
from tests.web.conftest import PASSWORD, WebStack, build_stack
from tests.web.test_web_routes import _start_chat

pytestmark = pytest.mark.timeout(900)  # a full generated business on a loaded machine


@pytest.fixture(scope="module")
def business() -> Business:
    return generate(4, "full")


@pytest.fixture
async def bi_stack(
    _isolated_sophia_home: Path, _sqlite_template: Path, business: Business
) -> AsyncIterator[WebStack]:
    stack, close = await build_stack(_isolated_sophia_home, _sqlite_template, WebOptions(), bi_script)
    try:
        async with stack.app.router.lifespan_context(stack.app):
            for name, role in (("ada", Role.ADMIN), ("mia", Role.MEMBER), ("vic", Role.VIEWER)):
                stack.users[name] = (await stack.services.accounts.create_user(name, role, None, PASSWORD)).id
            await BusinessStore(stack.services.database).upsert(with_next_steps(business.entities()))
            yield stack
    finally:
        await close()


async def _key(stack: WebStack, name: str, scopes: list[str] | None = None) -> dict[str, str]:
    _, key = await stack.services.accounts.create_api_key(stack.users[name], "bi", scopes)
    return {"Authorization": f"Bearer {key}"}


async def test_bi_routes_check_roles_and_scopes_and_type_their_errors(
    bi_stack: WebStack, business: Business
) -> None:
    admin, member = await _key(bi_stack, "ada"), await _key(bi_stack, "mia")
    viewer, narrow = await _key(bi_stack, "vic"), await _key(bi_stack, "mia", ["chat"])
    async with bi_stack.client() as client:
        assert (await client.get("/v1/bi/coach")).status_code == 401
        assert (await client.get("/v1/bi/coach", headers=viewer)).status_code == 403
        refused = await client.get("/v1/bi/coach", headers=narrow)
        assert refused.status_code == 403 and "bi:read" in refused.text
        missing = await client.get("/v1/bi/health", headers=member)
        assert missing.status_code == 409 and "sophia bi train churn" in missing.json()["error"]["message"]
        assert (await client.post("/v1/bi/train/churn", headers=member, json={})).status_code == 403
        assert (await client.get("/v1/bi/forecast?horizon=0", headers=member)).status_code == 422
        assert (await client.get("/v1/bi/health?as_of=yesterday", headers=member)).status_code == 422
        assert (await client.post("/v1/bi/ask", headers=member, json={"question": ""})).status_code == 422
        nobody = await client.get("/v1/bi/coach", params={"rep": "Nobody"}, headers=member)
        assert nobody.status_code == 404 and "no rep 'Nobody'" in nobody.text

        rep_id, truth = next((k, v) for k, v in business.truth.reps.items() if v.calls)
        name = next(r.name for r in business.reps if r.source_id == rep_id)
        coached = (await client.get("/v1/bi/coach", params={"rep": name}, headers=member)).json()["data"]
        assert coached[0]["rep"]["rep_id"] == rep_id and coached[0]["rep"]["calls"] == truth.calls

        as_of = business.truth.as_of.isoformat()
        trained = await client.post("/v1/bi/train/churn", headers=admin, json={"as_of": as_of})
        assert trained.status_code == 200, trained.text
        assert trained.json()["metrics"]["auc"] > trained.json()["metrics"]["base_rate_auc"]
        health = await client.get("/v1/bi/health", params={"as_of": as_of, "top": 5}, headers=member)
        scored = health.json()["data"]
        assert len(scored) == 5 and all(set(h["contributions"]) >= set(h["top_drivers"]) for h in scored)
        assert [h["churn_probability"] for h in scored] == sorted(
            (h["churn_probability"] for h in scored), reverse=True
        )
        forecast = (await client.get("/v1/bi/forecast", params={"horizon": 3}, headers=member)).json()
        assert len(forecast["bookings"]["points"]) == 3 and forecast["pipeline"]["open_deals"] > 0


async def test_ask_answers_with_sql_citations_links_and_a_chart(
    bi_stack: WebStack, business: Business
) -> None:
    member = await _key(bi_stack, "mia")
    async with bi_stack.client() as client:
        won = (await client.post("/v1/bi/ask", headers=member, json={"question": WON})).json()
        risk = (await client.post("/v1/bi/ask", headers=member, json={"question": AT_RISK})).json()
        series = (await client.post("/v1/bi/ask", headers=member, json={"question": BOOKINGS})).json()
        unknown = (await client.post("/v1/bi/ask", headers=member, json={"question": "Our office?"})).json()
    assert won["answered"] and won["text"] == f"{sum(d.is_won for d in business.deals)} deals were won."
    assert won["sql"].startswith("SELECT count(*)") and won["chart"] is None
    urls = {a.source_id: a.source_url for a in business.accounts}
    assert risk["answered"] and len(risk["citations"]) == 3
    assert all(c["source_url"] == urls[c["source_id"]] for c in risk["citations"])
    assert series["answered"] and series["chart"]["mark"] == "line"
    assert len(series["chart"]["data"]["values"]) == len(series["rows"]) > 12
    assert not unknown["answered"] and unknown["text"] == "cannot answer from the data"


async def test_the_chat_agent_answers_at_risk_accounts_by_calling_bi_ask(bi_stack: WebStack) -> None:
    client, csrf = await bi_stack.signed_in("mia")
    async with client:
        cid, mid = await _start_chat(client, csrf, AT_RISK)
        stream = await asyncio.wait_for(client.get(f"/chat/{cid}/messages/{mid}/stream"), 60)
    calls = [
        b
        for b in bi_stack.provider.calls
        if str(b["messages"][0]["content"]).startswith("You answer business")
    ]
    assert calls and calls[0]["messages"][-1]["content"] == AT_RISK  # the tool ran the BI pipeline
    cited = re.search(r"At risk, from the records: ([\w\-, ]+)", stream.text)
    assert cited is not None, stream.text[-2000:]
    frames = await BusinessStore(bi_stack.services.database).frames(kinds=("accounts",))
    ids = {a["source_id"] for a in frames["accounts"]}
    assert cited.group(1).split(", ") and set(cited.group(1).split(", ")) <= ids


async def test_ask_with_run_queues_a_durable_bi_run(
    _isolated_sophia_home: Path, _sqlite_template: Path
) -> None:
    business = generate(2, "small")
    shutil.copyfile(_sqlite_template, _isolated_sophia_home / "sophia.db")
    app = create_app(Settings(home=_isolated_sophia_home, server={"run_worker": True}), mcp=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client,
    ):
        services: Services = app.state.services
        services.gateway.providers["local"] = ScriptedProvider(bi_script, name="local")
        await BusinessStore(services.database).upsert(business.entities())
        user = await services.accounts.create_user("mia", Role.MEMBER)
        _, key = await services.accounts.create_api_key(user.id, "bi")
        headers = {"Authorization": f"Bearer {key}"}
        queued = await client.post("/v1/bi/ask", headers=headers, json={"question": WON, "run": True})
        assert queued.status_code == 202, queued.text
        run_id = queued.json()["id"]
        for _ in range(3000):
            detail = (await client.get(f"/v1/runs/{run_id}", headers=headers)).json()
            if detail["status"] in TERMINAL_STATUSES:
                break
            await asyncio.sleep(0.1)
    assert detail["status"] == "succeeded", detail
    assert detail["agent"] == "bi"
    answer = json.loads(detail["output"])
    assert answer["answered"] and answer["text"] == f"{sum(d.is_won for d in business.deals)} deals were won."
    assert [s["name"] for s in sorted(detail["step_list"], key=lambda s: s["seq"])] == [
        "model:plan",
        "query",
        "model:answer",
    ]


async def test_the_business_pages_render_for_members_and_refuse_viewers(bi_stack: WebStack) -> None:
    client, csrf = await bi_stack.signed_in("mia")
    async with client:
        page = await client.get("/bi")
        answer = await client.post("/bi/ask", data={"question": AT_RISK, "csrf_token": csrf})
        unsigned = await client.post("/bi/ask", data={"question": AT_RISK})
        reps = re.findall(r'href="/bi/coach/([^"]+)"', page.text)
        coach = await client.get(f"/bi/coach/{reps[0]}")
    assert page.status_code == 200
    for part in (
        "kpi-pipeline",
        "kpi-weighted",
        "kpi-bookings",
        "kpi-at-risk",
        "kpi-coaching",
        "data-vega-spec",
    ):
        assert part in page.text, part
    assert "no churn model is trained yet" in page.text  # at-risk ARR says why it is missing
    assert answer.status_code == 200 and answer.text.count("<li>") == 3 and "FROM accounts" in answer.text
    assert unsigned.status_code == 403
    assert coach.status_code == 200 and re.search(r"<time>\d+:\d\d</time>", coach.text)
    viewer, _ = await bi_stack.signed_in("vic")
    async with viewer:
        refused = await viewer.get("/bi")
    assert refused.status_code in (303, 403)


async def test_coaching_advice_over_http_and_on_the_coach_page_keeps_only_cited_moments(
    bi_stack: WebStack, business: Business
) -> None:
    member = await _key(bi_stack, "mia")
    rep_id = next(k for k, v in business.truth.reps.items() if v.calls)
    name = next(r.name for r in business.reps if r.source_id == rep_id)
    async with bi_stack.client() as client:
        plain = (await client.get("/v1/bi/coach", params={"rep": name}, headers=member)).json()["data"][0]
        advised = await client.get("/v1/bi/coach", params={"rep": name, "advice": "true"}, headers=member)
        no_rep = await client.get("/v1/bi/coach", params={"advice": "true"}, headers=member)
    assert "advice" not in plain  # no model call unless asked
    assert advised.status_code == 200, advised.text
    advice = advised.json()["data"][0]["advice"]
    quotes = {(q["call_id"], q["start_ms"]) for c in plain["calls"] for q in c["next_steps"]}
    assert [i["text"] for i in advice["items"]] == [ADVICE]
    assert (advice["items"][0]["call_id"], advice["items"][0]["quote"]["start_ms"]) in quotes
    assert advice["dropped"] == [f"{advice['items'][0]['call_id']} 99:59 is not one of the call's quotes"]
    assert no_rep.status_code == 400 and "per rep" in no_rep.text

    client, csrf = await bi_stack.signed_in("mia")
    async with client:
        page = await client.get(f"/bi/coach/{rep_id}")
        shown = await client.post(f"/bi/coach/{rep_id}/advice", data={"csrf_token": csrf, "model": "auto"})
        unsigned = await client.post(f"/bi/coach/{rep_id}/advice", data={"model": "auto"})
    assert page.status_code == 200 and f'hx-post="/bi/coach/{rep_id}/advice"' in page.text
    assert shown.status_code == 200 and ADVICE in shown.text and "99:59" not in shown.text
    assert re.search(r"<time>\d{2,}:\d\d</time>", shown.text)
    assert unsigned.status_code == 403
