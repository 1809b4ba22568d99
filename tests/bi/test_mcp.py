"""The `data` MCP server serves `bi.ask`, `bi.health`, `bi.coach` and `bi.forecast` (read-only, so no approval),
driven by the official MCP client over a generated business; without a gateway `bi.ask` is not offered."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcp import Client
from sophia.business import BusinessStore
from sophia.config import Settings
from sophia.gateway.providers import ScriptedProvider
from sophia.mcp import build_server, open_runtime
from sophia.server import open_toolkit
from sophia.store import Database
from tests.agents.conftest import build_gateway
from tests.bi.scripted import ADVICE, AT_RISK, bi_script, with_next_steps
from tests.business.generator import generate

pytestmark = pytest.mark.timeout(600)  # a generated business on a loaded machine
BI_TOOLS = {"bi.ask", "bi.health", "bi.coach", "bi.forecast"}


async def test_the_data_server_answers_with_the_bi_tools(database: Database, tmp_path: Path) -> None:
    business = generate(4, "full")
    await BusinessStore(database).upsert(with_next_steps(business.entities()))
    rep = next(r for r in business.reps if business.truth.reps[r.source_id].calls)
    gateway = build_gateway(database, ScriptedProvider(bi_script, name="scripted"))
    settings = Settings(home=tmp_path)
    kit = await open_toolkit(settings, database, None, gateway=gateway, connect_external=False)
    runtime = await open_runtime(settings, database, embedder=None, kit=kit, runs=False)
    try:
        async with Client(build_server("data", runtime)) as client:
            listed = {t.name: t for t in (await client.list_tools()).tools}
            assert BI_TOOLS <= set(listed)
            assert all(listed[name].annotations.read_only_hint for name in BI_TOOLS)  # type: ignore[union-attr]
            asked = await client.call_tool("bi.ask", {"question": AT_RISK})
            untrained = await client.call_tool("bi.health", {})
            coach = await client.call_tool("bi.coach", {})
            advised = await client.call_tool("bi.coach", {"rep": rep.name, "advice": True})
            advice_for_all = await client.call_tool("bi.coach", {"advice": True})
            forecast = await client.call_tool("bi.forecast", {"horizon": 2})
            bad = await client.call_tool("bi.forecast", {"horizon": 99})
    finally:
        await runtime.aclose()
        await kit.aclose()
        await gateway.aclose()
    answer = asked.structured_content
    assert answer is not None and answer["answered"] and len(answer["citations"]) == 3
    urls = {a.source_id: a.source_url for a in business.accounts}
    assert all(c["source_url"] == urls[c["source_id"]] for c in answer["citations"])
    assert untrained.is_error and "sophia bi train churn" in untrained.content[0].text  # type: ignore[union-attr]
    overview = coach.structured_content
    assert overview is not None and overview["team"]["calls"] == len(business.calls) and overview["reps"]
    advice = advised.structured_content["advice"]  # type: ignore[index]
    assert [i["text"] for i in advice["items"]] == [ADVICE] and len(advice["dropped"]) == 1
    assert advice_for_all.is_error and "needs a rep" in advice_for_all.content[0].text  # type: ignore[union-attr]
    assert len(forecast.structured_content["bookings"]["points"]) == 2  # type: ignore[index]
    assert bad.is_error


async def test_without_a_gateway_the_data_server_leaves_bi_ask_out(
    database: Database, tmp_path: Path
) -> None:
    runtime = await open_runtime(Settings(home=tmp_path), database, embedder=None, runs=False)
    try:
        async with Client(build_server("data", runtime)) as client:
            names = {t.name for t in (await client.list_tools()).tools}
    finally:
        await runtime.aclose()
    assert names & BI_TOOLS == BI_TOOLS - {"bi.ask"}
