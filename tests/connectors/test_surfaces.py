"""The kit through its surfaces: `sophia connectors …` and `/v1/connectors` against a real local service."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from typer.testing import CliRunner

from sophia.accounts import AccountService, Role
from sophia.cli import app as cli_app
from sophia.runs import RunService, system_database_url
from sophia.server import Services, create_app
from sophia.server._toolkit import open_toolkit
from sophia.store import Database
from tests.connectors.example import signed
from tests.serving import serve_app

TOKEN = "notes-token-5ecret"
HOOK_SECRET = "hook-5ecret"
runner = CliRunner()


@dataclass
class NotesService:
    url: str
    received: list[dict[str, Any]] = field(default_factory=list)


def _notes_app(service: NotesService) -> FastAPI:
    app = FastAPI()

    @app.get("/me")
    async def me(request: Request) -> Any:
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            from fastapi.responses import JSONResponse

            return JSONResponse({"message": "Bad credentials"}, status_code=401)
        return {"login": "ada"}

    @app.post("/notes", status_code=201)
    async def create(request: Request) -> Any:
        body = await request.json()
        service.received.append(body)
        return {"id": len(service.received), **body}

    return app


@pytest.fixture(scope="module")
def notes_service() -> Iterator[NotesService]:
    service = NotesService("")
    with serve_app(_notes_app(service)) as url:
        service.url = url
        yield service


@pytest.fixture
def configured(tmp_path: Path, notes_service: NotesService, monkeypatch: pytest.MonkeyPatch) -> Path:
    notes_service.received.clear()
    config = tmp_path / "sophia.toml"
    config.write_text(
        f'[connectors.notes]\nbase_url = "{notes_service.url}"\n'
        'credentials = { token = "env:NOTES_TOKEN", webhook_secret = "env:NOTES_HOOK" }\n'
        '[connectors.notes.on_event."note.created"]\nprompt = "Summarise the new note: {summary}"\n'
    )
    monkeypatch.setenv("NOTES_TOKEN", TOKEN)
    monkeypatch.setenv("NOTES_HOOK", HOOK_SECRET)
    monkeypatch.setenv("COLUMNS", "200")
    return config


def _cli(config: Path, *args: str) -> Any:
    return runner.invoke(cli_app, ["--config", str(config), *args])


def test_cli_lists_checks_and_records_the_check(configured: Path) -> None:
    listed = _cli(configured, "connectors", "list", "--json")
    assert listed.exit_code == 0, listed.output
    row = json.loads(listed.output)["configured"][0]
    assert row["name"] == "notes" and row["last_check"] is None
    assert {a["name"]: a["effect"] for a in row["actions"]}["notes.notes.create"] == "write"
    checked = _cli(configured, "connectors", "check", "notes")
    assert checked.exit_code == 0 and "signed in as ada" in checked.output
    again = json.loads(_cli(configured, "connectors", "list", "--json").output)["configured"][0]
    assert again["last_check"]["ok"] is True


def test_cli_check_with_a_wrong_token_fails_with_the_service_words(
    configured: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTES_TOKEN", "wrong")
    checked = _cli(configured, "connectors", "check", "notes")
    assert checked.exit_code == 1
    assert "refused the credentials (401)" in checked.output and "Bad credentials" in checked.output


def test_cli_call_dry_run_sends_nothing_and_a_real_write_waits_for_approval(
    configured: Path, notes_service: NotesService
) -> None:
    dry = _cli(
        configured, "connectors", "call", "notes", "notes.create", "--args", '{"text": "hi"}', "--dry-run"
    )
    assert dry.exit_code == 0, dry.output
    preview = json.loads(dry.output)
    assert (
        preview["request"]["method"] == "POST"
        and preview["request"]["headers"]["authorization"] == "[redacted]"
    )
    assert notes_service.received == [] and TOKEN not in dry.output
    held = _cli(configured, "connectors", "call", "notes", "notes.create", "--args", '{"text": "hi"}')
    assert held.exit_code == 3 and "sophia approvals approve" in held.output
    approval_id = held.output.split("approve ")[1].split("`")[0]
    approved = _cli(configured, "approvals", "approve", approval_id)
    assert approved.exit_code == 0, approved.output
    assert notes_service.received == [{"text": "hi"}]


def test_cli_names_bad_arguments_and_unknown_connectors(configured: Path) -> None:
    bad = _cli(configured, "connectors", "call", "notes", "notes.create", "--args", "{oops")
    assert bad.exit_code == 2 and "not valid JSON" in bad.output
    unknown = _cli(configured, "connectors", "call", "nots", "notes.create")
    assert unknown.exit_code == 2 and 'did you mean "notes"' in unknown.output


@pytest.fixture
async def api(
    configured: Path, tmp_path: Path, _sqlite_template: Path
) -> AsyncIterator[tuple[httpx.AsyncClient, str, RunService]]:
    from sophia.config import load_settings

    shutil.copyfile(_sqlite_template, tmp_path / "sophia.db")
    settings = load_settings(configured).model_copy(update={"home": tmp_path})
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'sophia.db'}")
    accounts = AccountService(database)
    admin = await accounts.create_user("ada", Role.ADMIN)
    key = (await accounts.create_api_key(admin.id, "k"))[1]
    from sophia.gateway import build_gateway

    gateway = await build_gateway(settings, database)
    services = Services(settings=settings, database=database, accounts=accounts, gateway=gateway)
    services.tools = await open_toolkit(settings, database, None)
    app = create_app(settings, services, mcp=False)
    runs = RunService(database, services.tools.invoker, system_database_url=system_database_url(settings))
    app.state.run_service = runs
    app.state.services = services
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as client:
            yield client, key, runs
    finally:
        await runs.aclose()
        await services.tools.aclose()
        await gateway.aclose()
        await database.close()


async def test_http_lists_connectors_for_a_key_and_refuses_without_one(
    api: tuple[httpx.AsyncClient, str, RunService],
) -> None:
    client, key, _ = api
    assert (await client.get("/v1/connectors")).status_code == 401
    listed = await client.get("/v1/connectors", headers={"authorization": f"Bearer {key}"})
    assert listed.status_code == 200 and listed.json()["data"][0]["name"] == "notes"
    checked = await client.post("/v1/connectors/notes/check", headers={"authorization": f"Bearer {key}"})
    assert checked.json()["ok"] is True


async def test_a_signed_webhook_is_kept_once_and_starts_its_run(
    api: tuple[httpx.AsyncClient, str, RunService],
) -> None:
    client, key, runs = api
    body, signature = signed(HOOK_SECRET, {"action": "created", "text": "ship it"})
    headers = {"x-hub-signature-256": signature, "x-delivery": "d-1", "content-type": "application/json"}
    first = await client.post("/v1/connectors/notes/webhook", content=body, headers=headers)
    assert first.status_code == 200, first.text
    assert first.json()["event"] == "note.created" and first.json()["run_id"]
    again = await client.post("/v1/connectors/notes/webhook", content=body, headers=headers)
    assert again.json()["duplicate"] is True
    events = await client.get("/v1/connectors/notes/events", headers={"authorization": f"Bearer {key}"})
    assert [e["run_id"] for e in events.json()["data"]] == [first.json()["run_id"]]


async def test_a_webhook_with_a_bad_signature_is_refused_and_kept_nowhere(
    api: tuple[httpx.AsyncClient, str, RunService],
) -> None:
    client, key, _ = api
    body, signature = signed(HOOK_SECRET, {"action": "created", "text": "x"})
    headers = {"x-hub-signature-256": signature, "x-delivery": "d-2"}
    refused = await client.post("/v1/connectors/notes/webhook", content=body + b" ", headers=headers)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "webhook_refused"
    events = await client.get("/v1/connectors/notes/events", headers={"authorization": f"Bearer {key}"})
    assert events.json()["data"] == []
