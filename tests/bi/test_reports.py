"""Scheduled reports: config checked at load, periods, one delivery per period per install (two schedulers on one
database), the PNG through Slack's upload flow and Telegram's sendPhoto over real HTTP, a Slack 500 recorded and
retried next tick from the stored render, and the CLI and HTTP surfaces."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sophia.accounts import AccountService, Role
from sophia.bi import Reports, period_start
from sophia.business import BusinessStore
from sophia.config import ReportSettings, Settings, load_settings
from sophia.connectors import Connectors
from sophia.errors import ConfigError
from sophia.secrets import SecretResolver
from sophia.store import Database, list_audit
from tests.bi.report_standins import (
    SLACK_TOKEN,
    TELEGRAM_TOKEN,
    SlackStandIn,
    TelegramStandIn,
    slack_standin,
    telegram_standin,
)
from tests.business.generator import Sizes, generate

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MONDAY = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def slack() -> Iterator[SlackStandIn]:
    with slack_standin() as s:
        yield s


@pytest.fixture(scope="module")
def telegram() -> Iterator[TelegramStandIn]:
    with telegram_standin() as s:
        yield s


@pytest.fixture(autouse=True)
def _fresh(slack: SlackStandIn, telegram: TelegramStandIn) -> None:
    slack.calls.clear(), slack.uploads.clear(), slack.script.clear()
    telegram.messages.clear(), telegram.photos.clear()


def _settings(home: Path, slack: SlackStandIn, telegram: TelegramStandIn, **report: Any) -> Settings:
    spec = {
        "kind": "pipeline",
        "every": "mon 08:00",
        "deliver": ["slack:team#C012AB3CD", "telegram:bot#-100777"],
    }
    return Settings(
        home=home,
        connectors={
            "team": {"kind": "slack", "base_url": slack.url, "credentials": {"token": "env:SLACK_TOKEN"}},
            "bot": {"kind": "telegram", "base_url": telegram.url, "credentials": {"token": "env:TG_TOKEN"}},
        },
        bi={"reports": {"weekly_pipeline": spec | report}},
    )


def _connectors(settings: Settings) -> Connectors:
    environ = {"SLACK_TOKEN": SLACK_TOKEN, "TG_TOKEN": TELEGRAM_TOKEN}
    return Connectors.open(settings, SecretResolver(settings.home, environ=environ))


@pytest.fixture
async def business(database: Database) -> Database:
    await BusinessStore(database).upsert(generate(5, "small").entities())
    return database


# --- configuration -------------------------------------------------------------------------------------------


def test_wrong_report_config_is_a_typed_error_naming_each_problem(tmp_path: Path) -> None:
    config = tmp_path / "sophia.toml"
    config.write_text(
        '[connectors.team]\nkind = "slack"\n'
        '[bi.reports.a]\nkind = "pipeline"\ndeliver = ["slack:nosuch#C1", "telegram:team#5"]\n'
        '[bi.reports.b]\nkind = "forecast"\n'
        '[bi.reports.c]\nkind = "coaching"\nevery = "someday"\n'
        '[bi.reports.d]\nkind = "at_risk"\ndeliver = ["email:team#x"]\n'
    )
    with pytest.raises(ConfigError) as raised:
        load_settings(config)
    problems = "\n".join(raised.value.problems)
    assert "bi.reports.b.kind" in problems
    assert "bi.reports.c.every" in problems and "mon 08:00" in problems
    assert "bi.reports.d.deliver" in problems
    config.write_text(
        '[connectors.team]\nkind = "slack"\n'
        '[bi.reports.a]\nkind = "pipeline"\ndeliver = ["slack:nosuch#C1", "telegram:team#5"]\n'
    )
    with pytest.raises(ConfigError) as raised:
        load_settings(config)
    assert raised.value.problems == [
        'bi.reports.a.deliver[0]: unknown connector "nosuch" (team)',
        'bi.reports.a.deliver[1]: connector "team" is slack, not telegram',
    ]


@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
    st.sampled_from(["60s", "15m", "1h", "1d", "7d", "mon 08:00", "fri 23:59", "sun 00:00"]),
)
def test_a_moment_falls_in_exactly_one_period(now: datetime, every: str) -> None:
    report = ReportSettings(kind="pipeline", every=every)
    start = period_start(report, now)
    assert start <= now < start + timedelta(seconds=report.every_seconds)
    if report.weekly is not None:
        day, hour, minute = report.weekly
        assert (start.weekday(), start.hour, start.minute, start.second) == (day, hour, minute, 0)
    assert period_start(report, start) == start


# --- delivery ------------------------------------------------------------------------------------------------


async def test_a_due_report_is_delivered_once_with_its_png_to_slack_and_telegram(
    business: Database, slack: SlackStandIn, telegram: TelegramStandIn, tmp_path: Path
) -> None:
    settings = _settings(tmp_path, slack, telegram)
    connectors = _connectors(settings)
    reports = Reports(settings, business, connectors)
    try:
        done = await reports.run_due(MONDAY)
        again = await reports.run_due(MONDAY + timedelta(hours=3))
    finally:
        await connectors.aclose()
    assert [r.status for r in done] == ["delivered"] and again == []
    record = done[0]
    assert record.period == datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    assert record.delivered_to == ["slack:team#C012AB3CD", "telegram:bot#-100777"]
    png = await reports.png(record.id)
    assert png.startswith(PNG_MAGIC)
    assert slack.uploads == [png]  # the external upload flow carried the chart's bytes
    complete = next(given for method, given in slack.calls if method == "files.completeUploadExternal")
    assert complete["channel_id"] == "C012AB3CD" and "Open pipeline" in complete["initial_comment"]
    [(fields, photo, content_type)] = telegram.photos
    assert photo == png and content_type == "image/png" and fields["chat_id"] == "-100777"
    assert telegram.messages[0]["chat_id"] == "-100777" and "Weekly pipeline" in telegram.messages[0]["text"]
    stored = await reports.get(record.id)
    assert stored.spec is not None and stored.spec["mark"]["type"] == "bar"
    expected = sum(v["expected"] for v in stored.spec["data"]["values"])
    assert f"{expected:,.0f}" in (stored.text or "")  # the text's total is the chart's data summed
    async with business.session() as session:
        audited = await list_audit(session, action="bi.report.delivered")
    assert {e.detail["to"] for e in audited} == set(record.delivered_to)


async def test_a_slack_500_is_recorded_and_the_next_tick_delivers_the_stored_render(
    business: Database, slack: SlackStandIn, telegram: TelegramStandIn, tmp_path: Path
) -> None:
    settings = _settings(tmp_path, slack, telegram)
    slack.script["files.getUploadURLExternal"] = [(500, {}, {"ok": False, "error": "internal_error"})]
    connectors = _connectors(settings)
    reports = Reports(settings, business, connectors)
    try:
        [failed] = await reports.run_due(MONDAY)
        assert failed.status == "failed" and failed.attempts == 1
        assert failed.error is not None and failed.error.startswith("slack:team#C012AB3CD")
        assert failed.delivered_to == ["telegram:bot#-100777"] and slack.uploads == []
        first = await reports.get(failed.id)
        # New deals arrive before the next tick: a re-render would show them; the retry must send the stored one.
        later = generate(6, "small")
        await BusinessStore(business).upsert([*later.stages, *later.deals, *later.deal_stages])
        [retried] = await reports.run_due(MONDAY + timedelta(minutes=1))
        assert await reports.run_due(MONDAY + timedelta(minutes=2)) == []
    finally:
        await connectors.aclose()
    assert retried.id == failed.id and retried.status == "delivered" and retried.error is None
    assert retried.delivered_to == ["telegram:bot#-100777", "slack:team#C012AB3CD"]
    again = await reports.get(failed.id)
    assert again.text == first.text and again.spec == first.spec
    assert slack.uploads == [await reports.png(failed.id)]
    assert len(telegram.photos) == 1  # the destination reached the first time is not sent to twice


async def test_two_schedulers_on_one_database_deliver_a_period_once(
    migrated_database_url: str, slack: SlackStandIn, telegram: TelegramStandIn, tmp_path: Path
) -> None:
    settings = _settings(tmp_path, slack, telegram)
    first, second = Database(migrated_database_url), Database(migrated_database_url)
    await BusinessStore(first).upsert(generate(5, "small").entities())
    one, two = _connectors(settings), _connectors(settings)
    try:
        results = await asyncio.gather(
            Reports(settings, first, one).run_due(MONDAY), Reports(settings, second, two).run_due(MONDAY)
        )
        later = await asyncio.gather(
            Reports(settings, first, one).run_due(MONDAY + timedelta(minutes=1)),
            Reports(settings, second, two).run_due(MONDAY + timedelta(minutes=1)),
        )
        stored = await Reports(settings, first, None).stored()
    finally:
        await one.aclose(), await two.aclose()
        await first.close(), await second.close()
    assert sorted(len(r) for r in results) == [0, 1] and later == [[], []]
    assert len(stored) == 1 and stored[0].status == "delivered"
    assert len(slack.uploads) == 1 and len(telegram.photos) == 1


CHURN_SIZES = Sizes(
    accounts=80, contacts=160, deals=120, calls=12, activities=200, reps=3, months=24, usage_weeks=8
)
"""Enough accounts of both outcomes for the churn model's time split with its calibration slice."""


async def test_coaching_and_at_risk_reports_render_from_the_analyses(
    database: Database, slack: SlackStandIn, telegram: TelegramStandIn, tmp_path: Path
) -> None:
    from sophia.bi import churn_model_path, load_churn_frames, train_churn

    generated = generate(5, CHURN_SIZES)
    await BusinessStore(database).upsert(generated.entities())
    business = database

    coaching = _settings(tmp_path, slack, telegram, kind="coaching", deliver=[])
    record = await Reports(coaching, business, None).run("weekly_pipeline", deliver=False)
    assert record.status == "kept" and "Coaching digest" in (record.text or "") and record.has_png
    at_risk = _settings(tmp_path, slack, telegram, kind="at_risk", deliver=[], top=5)
    missing = await Reports(at_risk, business, None).run("weekly_pipeline")
    assert missing.status == "failed" and "sophia bi train churn" in (missing.error or "")
    business_now = generated.now
    train_churn(await load_churn_frames(BusinessStore(business)), business_now - timedelta(days=90)).save(
        churn_model_path(at_risk.home)
    )
    record = await Reports(at_risk, business, None).run("weekly_pipeline", now=business_now)
    assert record.status == "kept" and record.spec is not None
    assert len(record.spec["data"]["values"]) == 5 and "At-risk accounts" in (record.text or "")


# --- CLI and HTTP --------------------------------------------------------------------------------------------


def test_cli_runs_a_report_without_delivering_and_lists_it(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from sophia.cli import app

    config = tmp_path / "sophia.toml"
    config.write_text(f'home = "{tmp_path}"\n[bi.reports.digest]\nkind = "coaching"\nevery = "1d"\n')

    async def seed() -> None:
        from sophia.store import open_database

        database = await open_database(load_settings(config), migrate=True)
        await BusinessStore(database).upsert(generate(5, "small").entities())
        await database.close()

    asyncio.run(seed())
    runner = CliRunner()
    ran = runner.invoke(app, ["--config", str(config), "bi", "report", "digest", "--no-deliver"])
    assert ran.exit_code == 0, ran.output
    assert "Coaching digest" in ran.output and "kept, delivered to nowhere" in ran.output
    listed = runner.invoke(app, ["--config", str(config), "bi", "reports"])
    assert listed.exit_code == 0 and "digest: coaching every 86400s" in listed.output
    unknown = runner.invoke(app, ["--config", str(config), "bi", "report", "nosuch"])
    assert unknown.exit_code != 0 and 'no report "nosuch"' in unknown.output


@pytest.fixture
async def api(
    business: Database,
    slack: SlackStandIn,
    telegram: TelegramStandIn,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str], dict[str, str]]]:
    from sophia.gateway import build_gateway
    from sophia.server import Services, create_app

    monkeypatch.setenv("SLACK_TOKEN", SLACK_TOKEN)
    monkeypatch.setenv("TG_TOKEN", TELEGRAM_TOKEN)
    settings = _settings(tmp_path, slack, telegram, deliver=["slack:team#C012AB3CD"])
    accounts = AccountService(business)
    keys = {}
    for name, role in (("ada", Role.ADMIN), ("mia", Role.MEMBER)):
        user = await accounts.create_user(name, role, None, "a-long-password-1")
        keys[name] = {"Authorization": f"Bearer {(await accounts.create_api_key(user.id, name))[1]}"}
    gateway = await build_gateway(settings, business)
    services = Services(settings=settings, database=business, accounts=accounts, gateway=gateway)
    app = create_app(settings, services, mcp=False)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://sophia.test") as client:
                yield client, keys["ada"], keys["mia"]
    finally:
        await services.aclose()


async def test_http_lists_reads_and_runs_reports_and_only_an_admin_runs_one(
    api: tuple[httpx.AsyncClient, dict[str, str], dict[str, str]], slack: SlackStandIn
) -> None:
    client, admin, member = api
    assert (await client.get("/v1/bi/reports")).status_code == 401
    refused = await client.post("/v1/bi/reports/weekly_pipeline/run", headers=member)
    assert refused.status_code == 403
    ran = await client.post("/v1/bi/reports/weekly_pipeline/run", headers=admin)
    assert ran.status_code == 200, ran.text
    record = ran.json()
    assert record["trigger"] == "manual" and record["status"] == "delivered"
    assert record["delivered_to"] == ["slack:team#C012AB3CD"] and record["spec"]["mark"]["type"] == "bar"
    listed = (await client.get("/v1/bi/reports", headers=member)).json()
    assert record["id"] in [r["id"] for r in listed["reports"]]
    assert listed["configured"][0]["name"] == "weekly_pipeline" and listed["configured"][0]["last_delivered"]
    one = await client.get(f"/v1/bi/reports/{record['id']}", headers=member)
    assert one.json()["text"] == record["text"]
    png = await client.get(f"/v1/bi/reports/{record['id']}/png", headers=member)
    assert png.headers["content-type"] == "image/png" and png.content in slack.uploads
    assert (await client.get("/v1/bi/reports/999999", headers=member)).status_code == 404
    missing = await client.post("/v1/bi/reports/nosuch/run", headers=admin)
    assert missing.status_code == 404 and "weekly_pipeline" in missing.json()["error"]["message"]
