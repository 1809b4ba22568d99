"""Citations cannot be fabricated: every adversarial claim a model can write is refused by code (property test),
and the model path (plan → claims → verification) runs through the gateway with the scripted provider."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sophia.gateway import Gateway
from sophia.research import Document, ResearchService, check_claim, split_passages
from tests.agents.conftest import MODEL, build_gateway

DOC = Document(
    url="https://www.kernel.org/doc/html/v6.1/admin-guide/sysctl/vm.html",
    title="vm",
    text="overcommit_memory. This value contains a flag.\nThe default value is 0. When this flag is 2, the "
    "kernel uses a never overcommit policy.",
    source="searxng",
)
PASSAGES = {p.id: p for p in split_passages(DOC)}
GOOD_ID = next(iter(PASSAGES))


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    pid=st.one_of(st.text(max_size=20), st.sampled_from(["p0", "1", "99", GOOD_ID + "x", "[1]"])),
    quote=st.text(min_size=1, max_size=60),
    url=st.sampled_from(["https://evil.example/made-up", "http://x.y/", "www.invented.org/page"]),
)
def test_adversarial_claims_are_all_refused(pid: str, quote: str, url: str) -> None:
    # an id that was never read
    if pid not in PASSAGES:
        assert (
            check_claim(
                {"text": "The default value is 0.", "passage_id": pid, "quote": "default"}, PASSAGES, "q"
            ).claim
            is None
        )
    # a quote the passage does not hold
    passage = PASSAGES[GOOD_ID]
    if " ".join(quote.split()) not in " ".join(passage.text.split()):
        assert (
            check_claim({"text": quote, "passage_id": GOOD_ID, "quote": quote}, PASSAGES, "q").claim is None
        )
    # a URL of the model's own
    assert (
        check_claim(
            {
                "text": f"The default value is 0 {url}",
                "passage_id": GOOD_ID,
                "quote": "The default value is 0.",
            },
            PASSAGES,
            "q",
        ).claim
        is None
    )


def test_a_sentence_its_quote_does_not_support_is_dropped() -> None:
    checked = check_claim(
        {
            "text": "The default value is 7 and PostgreSQL recommends 1.",
            "passage_id": GOOD_ID,
            "quote": "The default value is 0.",
        },
        PASSAGES,
        "q",
    )
    assert checked.claim is None and "support" in (checked.reason or "")


def test_a_faithful_claim_is_kept() -> None:
    pid = next(p for p in PASSAGES.values() if "default value is 0" in p.text).id
    checked = check_claim(
        {"text": "The default value is 0 [3].", "passage_id": pid, "quote": "The default value is 0."},
        PASSAGES,
        "q",
    )
    assert checked.claim is not None and checked.claim.text == "The default value is 0."


def _claims_script(body: dict[str, Any]) -> str:
    user = body["messages"][-1]["content"]
    if "Passages:" not in user:
        return orjson.dumps(
            {"sub_questions": ["What is the kernel default of vm.overcommit_memory?"]}
        ).decode()
    ids = [line[1 : line.index("]")] for line in user.split("\n") if line.startswith("[p")]
    claims = [
        {"text": "The default value is 0.", "passage_id": i, "quote": "The default value is 0."} for i in ids
    ]
    claims += [
        {"text": "It is 5, see https://evil.example/x", "passage_id": ids[0], "quote": "made up"},
        {
            "text": "The default value is 0.",
            "passage_id": "p_invented",
            "quote": "The default value is 0.",
        },
        {"text": "PostgreSQL recommends 9.", "passage_id": ids[0], "quote": "not in any passage"},
    ]
    return orjson.dumps({"claims": claims}).decode()


async def test_the_model_path_keeps_only_verified_claims(
    make_service: Callable[..., ResearchService], database: Any
) -> None:
    from sophia.gateway.providers import ScriptedProvider

    gateway: Gateway = build_gateway(database, ScriptedProvider(_claims_script, name="scripted"))
    try:
        report = await make_service(gateway=gateway).research(
            "What is the default of vm.overcommit_memory in Linux?", mode="model", depth="standard"
        )
    finally:
        await gateway.aclose()
    assert report.mode == "model" and report.claims
    texts = {c.text for c in report.claims}
    assert "The default value is 0." in texts
    assert not any("evil" in t or "recommends 9" in t or "It is 5" in t for t in texts)
    assert report.stats["claims_dropped"] >= 3 and len(report.refused) == report.stats["claims_dropped"]
    cited = {p.id: p for p in report.citations}
    assert all(c.quote in " ".join(cited[c.passage_id].text.split()) for c in report.claims)
    assert DOC.url in {p.url for p in report.citations} and "p_invented" not in cited


def _checking_script(asked: list[str]) -> Callable[[dict[str, Any]], str]:
    """Plans one sub-question, proposes two faithful claims per passage, and as the checker rejects the one
    about flag 1 (lexically supported, so only the model check can drop it)."""

    def script(body: dict[str, Any]) -> str:
        user = body["messages"][-1]["content"]
        asked.append(user.split(":", 1)[0])
        if user.startswith("Sentence:"):
            return orjson.dumps({"supported": "flag is 1" not in user}).decode()
        if "Passages:" not in user:
            return orjson.dumps({"sub_questions": ["What does each overcommit_memory flag do?"]}).decode()
        ids = [line[1 : line.index("]")] for line in user.split("\n") if line.startswith("[p")]
        said = (
            "The default value is 0.",
            "When this flag is 1, the kernel pretends there is always enough memory until it actually runs out.",
        )
        return orjson.dumps(
            {"claims": [{"text": s, "passage_id": i, "quote": s} for i in ids for s in said]}
        ).decode()

    return script


async def test_the_model_check_drops_a_claim_the_model_finds_unsupported(
    make_service: Callable[..., ResearchService], database: Any
) -> None:
    from sophia.gateway.providers import ScriptedProvider

    asked: list[str] = []
    gateway: Gateway = build_gateway(database, ScriptedProvider(_checking_script(asked), name="scripted"))
    try:
        service = make_service(gateway=gateway, check_claims_with_model=True, cost_budget_usd=100.0)
        report = await service.research(
            "What is the default of vm.overcommit_memory?", mode="model", depth="quick"
        )
    finally:
        await gateway.aclose()
    assert "Sentence" in asked  # the checker was asked, through the gateway
    model_claims = [c for c in report.claims if c.checked_by_model]
    assert model_claims and all("flag is 1" not in c.text for c in report.claims)
    assert any("model check" in reason for reason in report.refused)


async def test_past_the_cost_budget_no_further_model_call_is_made(
    make_service: Callable[..., ResearchService], database: Any
) -> None:
    from sophia.gateway.providers import ScriptedProvider

    asked: list[str] = []
    gateway: Gateway = build_gateway(database, ScriptedProvider(_checking_script(asked), name="scripted"))
    try:
        service = make_service(gateway=gateway, check_claims_with_model=True, cost_budget_usd=1e-12)
        report = await service.research(
            "What is the default of vm.overcommit_memory in Linux?", mode="model", depth="standard"
        )
    finally:
        await gateway.aclose()
    assert len(asked) == 1  # the plan spent the budget: no claims or checks were asked of the model
    assert report.claims and not any(c.checked_by_model for c in report.claims)


def _clarifying_script(restated: str, seen: list[str]) -> Callable[[dict[str, Any]], str]:
    def script(body: dict[str, Any]) -> str:
        system, user = body["messages"][0]["content"], body["messages"][-1]["content"]
        if system.startswith("You prepare research"):
            return orjson.dumps({"question": restated}).decode()
        if "Passages:" not in user:
            seen.append(user)
            return orjson.dumps({"sub_questions": []}).decode()
        return orjson.dumps({"claims": []}).decode()

    return script


async def test_the_clarify_step_restates_the_question_unless_it_drifts_off_it(
    make_service: Callable[..., ResearchService], database: Any
) -> None:
    from sophia.gateway.providers import ScriptedProvider

    asked = "kernel default for overcommit?"
    for restated, expected in (
        ("What is the Linux kernel's default vm.overcommit_memory value (overcommit)?", "restated"),
        ("Tell me about bananas and their history.", "kept"),
    ):
        seen: list[str] = []
        gateway: Gateway = build_gateway(
            database, ScriptedProvider(_clarifying_script(restated, seen), name="s")
        )
        try:
            service = make_service(gateway=gateway, clarify=True, cost_budget_usd=100.0)
            report = await service.research(asked, mode="model", depth="standard")
        finally:
            await gateway.aclose()
        planned_from = restated if expected == "restated" else asked
        assert seen == [planned_from] and report.sub_questions[0] == planned_from
        assert report.question == asked  # the report still answers what was asked
        assert report.claims  # the run went on to search and cite from the question it planned from


async def test_a_replayed_run_counts_the_model_spend_of_its_checkpointed_steps(
    make_service: Callable[..., ResearchService], database: Any, corpus: Any
) -> None:
    """A stand-in for DBOS's replay: the second run gets every step's checkpointed output and calls nothing."""
    from sophia.gateway.providers import ScriptedProvider

    kept: dict[str, Any] = {}

    async def recording(name: str, function: Callable[[], Any]) -> Any:
        kept[name] = await function()
        return kept[name]

    async def replaying(name: str, function: Callable[[], Any]) -> Any:
        return kept[name]

    reports, asked = [], []
    for step in (recording, replaying):
        gateway: Gateway = build_gateway(database, ScriptedProvider(_checking_script(asked), name="scripted"))
        try:
            service = make_service(gateway=gateway, check_claims_with_model=True, cost_budget_usd=100.0)
            reports.append(
                await service.research(
                    "What is the default of vm.overcommit_memory?", mode="model", step=step
                )
            )
        finally:
            await gateway.aclose()
        if step is recording:
            calls, searches = len(asked), corpus.searches
    assert (
        len(asked) == calls and corpus.searches == searches
    )  # the replay asked the model and the web nothing
    first, again = (r.json() for r in reports)
    assert first["cost_usd"] > 0 and again["cost_usd"] == first["cost_usd"]
    assert again["claims"] == first["claims"]


async def test_a_research_run_tells_routing_how_much_of_its_claims_verified(
    make_service: Callable[..., ResearchService], database: Any
) -> None:
    from sophia.gateway import QualityBook
    from sophia.gateway.providers import ScriptedProvider

    gateway: Gateway = build_gateway(database, ScriptedProvider(_claims_script, name="scripted"))
    gateway.router.quality = QualityBook(database)
    try:
        report = await make_service(gateway=gateway).research(
            "What is the default of vm.overcommit_memory in Linux?", mode="model", depth="standard"
        )
    finally:
        await gateway.aclose()
    async with database.engine.connect() as connection:
        rows = (
            await connection.execute(
                sa.text("SELECT task, model, score, source, request_id FROM model_outcomes")
            )
        ).all()
    assert rows, "no outcome was recorded"
    assert {(r[0], r[1], r[3]) for r in rows} == {("research", MODEL.name, "run")}
    # Every claims call proposed its good claims plus three made-up ones, which were refused.
    assert all(0.0 < r[2] < 1.0 for r in rows), rows
    assert all(str(r[4]).startswith("research-") for r in rows)
    assert report.stats["claims_dropped"] >= 3 * len(rows)
    assert gateway.router.quality.learned("research")
