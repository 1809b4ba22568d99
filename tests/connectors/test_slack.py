"""Slack against a stand-in answering as the Web API documents (api.slack.com/methods/*), over real HTTP."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from sophia.accounts import AccountService, Role
from sophia.config import ConnectorSettings
from sophia.connectors import (
    ConnectorAuthError,
    ConnectorNotFound,
    Connectors,
    ConnectorUnavailable,
    WebhookRefused,
    build_connector,
    slack_signature,
)
from sophia.runs import RunService, system_database_url
from sophia.secrets import SecretResolver
from sophia.server import Services, create_app
from sophia.server._toolkit import open_toolkit
from sophia.store import Database
from sophia.tools import ApprovalRequired, ToolContext, ToolRegistry
from tests.serving import serve_app

TOKEN = "xoxb-slack-5ecret-token"
SIGNING = "8f742231b10e8888abcd99yyyzzz85a5"


@dataclass
class SlackStandIn:
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    uploads: list[bytes] = field(default_factory=list)
    script: dict[str, list[Any]] = field(default_factory=dict)
    url: str = ""


def _post(given: dict[str, Any], s: SlackStandIn) -> dict[str, Any]:
    if given["channel"] == "C404":
        return {"ok": False, "error": "channel_not_found"}
    message = {"type": "message", "text": given["text"], "user": "W12345678", "ts": "1503435956.000247"}
    if "thread_ts" in given:
        message["thread_ts"] = given["thread_ts"]
    return {"ok": True, "channel": given["channel"], "ts": "1503435956.000247", "message": message}


def _channels(given: dict[str, Any], s: SlackStandIn) -> dict[str, Any]:
    first = not given.get("cursor")
    channel = {
        "id": "C012AB3CD" if first else "C061EG9T2",
        "name": "general" if first else "random",
        "is_channel": True,
        "is_private": False,
        "is_archived": False,
        "is_member": True,
        "topic": {"value": "Company-wide", "creator": "", "last_set": 0},
        "num_members": 4,
    }
    cursor = "dGVhbTpDMDYxRkE1UEI=" if first else ""
    return {"ok": True, "channels": [channel], "response_metadata": {"next_cursor": cursor}}


def _user(given: dict[str, Any], s: SlackStandIn) -> dict[str, Any]:
    if given.get("email") == "nobody@example.com":
        return {"ok": False, "error": "users_not_found"}
    user = {
        "id": "W012A3CDE",
        "name": "spengler",
        "real_name": "Egon Spengler",
        "tz": "America/Los_Angeles",
        "is_bot": False,
        "deleted": False,
        "profile": {"email": "spengler@ghostbusters.example.com"},
    }
    return {"ok": True, "user": user}


_METHODS: dict[str, Any] = {
    "auth.test": lambda given, s: {
        "ok": True,
        "url": "https://subarachnoid.slack.com/",
        "team": "Subarachnoid Workspace",
        "user": "sophia",
        "team_id": "T12345678",
        "user_id": "W12345678",
    },
    "chat.postMessage": _post,
    "chat.update": lambda given, s: {
        "ok": True,
        "channel": given["channel"],
        "ts": given["ts"],
        "text": given["text"],
    },
    "conversations.list": _channels,
    "conversations.join": lambda given, s: {
        "ok": True,
        "channel": {"id": given["channel"], "name": "general", "is_member": True},
    },
    "users.lookupByEmail": _user,
    "users.info": _user,
    "files.getUploadURLExternal": lambda given, s: {
        "ok": True,
        "upload_url": f"{s.url}/upload/v1/ABC123",
        "file_id": "F123ABC456",
    },
    "files.completeUploadExternal": lambda given, s: {
        "ok": True,
        "files": [{"id": f["id"], "title": f["title"]} for f in given["files"]],
    },
}


async def _arguments(request: Request) -> dict[str, Any]:
    if request.method == "GET":
        return dict(request.query_params)
    if request.headers.get("content-type", "").startswith("application/json"):
        body: dict[str, Any] = await request.json()
        return body
    return dict(await request.form())


def _slack_app(s: SlackStandIn) -> FastAPI:
    app = FastAPI()

    @app.api_route("/{method}", methods=["GET", "POST"])
    async def call(method: str, request: Request) -> Any:
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return {"ok": False, "error": "invalid_auth"}
        given = await _arguments(request)
        s.calls.append((method, given))
        scripted = s.script.get(method)
        if scripted:
            status, headers, body = scripted.pop(0)
            return JSONResponse(body, status_code=status, headers=headers)
        answer = _METHODS.get(method)
        return answer(given, s) if answer else {"ok": False, "error": "unknown_method"}

    @app.post("/upload/v1/ABC123")
    async def upload(request: Request) -> Any:
        s.uploads.append(await request.body())
        return JSONResponse("OK - 3", status_code=200)

    return app


@pytest.fixture(scope="module")
def stand_in() -> Iterator[SlackStandIn]:
    s = SlackStandIn()
    with serve_app(_slack_app(s)) as url:
        s.url = url
        yield s


@pytest.fixture
async def slack(stand_in: SlackStandIn, home: Path) -> AsyncIterator[Any]:
    stand_in.calls.clear()
    stand_in.uploads.clear()
    stand_in.script.clear()
    settings = ConnectorSettings(
        kind="slack",
        base_url=stand_in.url,
        credentials={"token": "env:SLACK_TOKEN", "webhook_secret": "env:SLACK_SIGNING"},
        options={"approvers": {"U0ADA": "ada"}, "approvals_channel": "C0APPROVE"},
    )
    resolver = SecretResolver(home, environ={"SLACK_TOKEN": TOKEN, "SLACK_SIGNING": SIGNING})
    connector = build_connector("slack", settings, resolver)
    yield connector
    await connector.aclose()


async def test_post_update_and_thread_reply_send_the_documented_arguments(
    slack: Any, stand_in: SlackStandIn
) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*done*"}}]
    posted = await slack.post_message("C012AB3CD", "done", blocks, thread_ts="1503435956.000100")
    assert posted == {"channel": "C012AB3CD", "ts": "1503435956.000247", "thread_ts": "1503435956.000100"}
    assert stand_in.calls[-1] == (
        "chat.postMessage",
        {"channel": "C012AB3CD", "text": "done", "blocks": blocks, "thread_ts": "1503435956.000100"},
    )
    updated = await slack.update_message("C012AB3CD", "1503435956.000247", "edited")
    assert updated["text"] == "edited" and stand_in.calls[-1][0] == "chat.update"
    assert (await slack.check()).message == "signed in as sophia in Subarachnoid Workspace"


async def test_channels_walk_every_cursor_page_and_join(slack: Any, stand_in: SlackStandIn) -> None:
    channels = await slack.list_channels()
    assert [c["name"] for c in channels] == ["general", "random"]
    assert stand_in.calls[1][1]["cursor"] == "dGVhbTpDMDYxRkE1UEI="
    assert (await slack.list_channels(limit=1))[0]["id"] == "C012AB3CD"
    assert (await slack.join_channel("C012AB3CD"))["is_member"] is True


async def test_users_lookup_and_a_missing_user_is_not_found(slack: Any) -> None:
    found = await slack.lookup_user("spengler@ghostbusters.example.com")
    assert found["id"] == "W012A3CDE" and found["email"] == "spengler@ghostbusters.example.com"
    assert (await slack.user_info("W012A3CDE"))["real_name"] == "Egon Spengler"
    with pytest.raises(ConnectorNotFound, match="users_not_found"):
        await slack.lookup_user("nobody@example.com")


async def test_file_upload_uses_the_external_upload_flow(slack: Any, stand_in: SlackStandIn) -> None:
    done = await slack.upload_file("report.txt", "all green", channel="C012AB3CD", initial_comment="see")
    assert done == {"files": [{"id": "F123ABC456", "title": "report.txt"}]}
    assert stand_in.uploads == [b"all green"]
    assert stand_in.calls[0] == ("files.getUploadURLExternal", {"filename": "report.txt", "length": "9"})
    assert stand_in.calls[-1][1]["channel_id"] == "C012AB3CD"


async def test_ok_false_errors_are_typed(slack: Any, stand_in: SlackStandIn, home: Path) -> None:
    with pytest.raises(ConnectorNotFound, match="channel_not_found"):
        await slack.post_message("C404", "x")
    bad = build_connector(
        "slack",
        ConnectorSettings(kind="slack", base_url=stand_in.url, credentials={"token": "env:T"}),
        SecretResolver(home, environ={"T": "xoxb-wrong"}),
    )
    with pytest.raises(ConnectorAuthError, match="invalid_auth"):
        await bad.check()
    assert not (await Connectors({"slack": bad}).check("slack")).ok
    await bad.aclose()


async def test_429_with_retry_after_is_waited_and_retried_and_5xx_on_a_post_is_not_resent(
    slack: Any, stand_in: SlackStandIn
) -> None:
    stand_in.script["conversations.list"] = [
        (429, {"Retry-After": "0"}, {"ok": False, "error": "ratelimited"})
    ]
    assert len(await slack.list_channels()) == 2
    assert [c[0] for c in stand_in.calls].count("conversations.list") == 3
    stand_in.calls.clear()
    stand_in.script["chat.postMessage"] = [(503, {}, {"ok": False, "error": "service_unavailable"})]
    with pytest.raises(ConnectorUnavailable):
        await slack.post_message("C1", "once")
    assert [c[0] for c in stand_in.calls] == ["chat.postMessage"]


async def test_dry_run_of_each_write_sends_nothing_and_hides_the_token(
    slack: Any, stand_in: SlackStandIn, database: Database
) -> None:
    registry = ToolRegistry()
    Connectors({"slack": slack}).register_tools(registry)
    from sophia.tools import ToolInvoker

    invoker = ToolInvoker(registry, database)
    context = ToolContext(user_id=1, user_name="ada", role=Role.MEMBER, run_id="run-1")
    writes = {
        "slack.chat.post": {"channel": "C1", "text": "hi"},
        "slack.chat.update": {"channel": "C1", "ts": "1.2", "text": "hi"},
        "slack.conversations.join": {"channel": "C1"},
        "slack.files.upload": {"filename": "a.txt", "content": "x"},
    }
    for tool, arguments in writes.items():
        result = await invoker.invoke(tool, {**arguments, "dry_run": True}, context)
        preview = json.dumps(result.output)
        assert result.output["sent"] is False and TOKEN not in preview, tool
        assert result.output["request"]["headers"]["authorization"] == "[redacted]"
    assert stand_in.calls == []


def _signed(
    body: bytes, content_type: str, *, secret: str = SIGNING, at: float | None = None
) -> dict[str, str]:
    timestamp = str(int(at if at is not None else time.time()))
    return {
        "x-slack-request-timestamp": timestamp,
        "x-slack-signature": slack_signature(secret, timestamp, body),
        "content-type": content_type,
    }


def test_inbound_url_verification_commands_events_and_forgeries(slack: Any) -> None:
    hello = json.dumps(
        {
            "token": "x",
            "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
            "type": "url_verification",
        }
    ).encode()
    event = slack.verify_webhook(_signed(hello, "application/json"), hello, SIGNING)
    assert event.reply == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}
    form = urlencode(
        {"command": "/sophia", "text": "status", "user_id": "U0ADA", "trigger_id": "13345224609.7"}
    )
    command = slack.verify_webhook(
        _signed(form.encode(), "application/x-www-form-urlencoded"), form.encode(), SIGNING
    )
    assert command.type == "command.sophia" and command.summary == "status" and command.id == "13345224609.7"
    callback = json.dumps(
        {
            "type": "event_callback",
            "event_id": "Ev0PV52K21",
            "event": {"type": "app_mention", "text": "<@U0LAN0Z89> is it everything?"},
        }
    ).encode()
    mention = slack.verify_webhook(_signed(callback, "application/json"), callback, SIGNING)
    assert mention.type == "event.app_mention" and mention.id == "Ev0PV52K21"
    with pytest.raises(WebhookRefused):
        slack.verify_webhook(_signed(hello, "application/json", secret="other"), hello, SIGNING)
    with pytest.raises(WebhookRefused, match="five minutes"):
        slack.verify_webhook(_signed(hello, "application/json", at=time.time() - 600), hello, SIGNING)


def _click(
    approval_id: str, user: str, action_id: str = "sophia_approve", ts: str = "1548426417.840180"
) -> bytes:
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": "ada"},
        "trigger_id": "12466734323.1",
        "actions": [
            {
                "action_id": action_id,
                "block_id": f"sophia_approval_{approval_id}",
                "value": approval_id,
                "type": "button",
                "action_ts": ts,
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


@pytest.fixture
async def server(
    stand_in: SlackStandIn, tmp_path: Path, _sqlite_template: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[httpx.AsyncClient, Services, int]]:
    from sophia.config import load_settings
    from sophia.gateway import build_gateway

    stand_in.calls.clear()
    config = tmp_path / "sophia.toml"
    config.write_text(
        f'[connectors.slack]\nbase_url = "{stand_in.url}"\n'
        'credentials = { token = "env:SLACK_TOKEN", webhook_secret = "env:SLACK_SIGNING" }\n'
        'options = { approvals_channel = "C0APPROVE", approvers = { U0ADA = "ada", U0BOB = "ghost" } }\n'
    )
    monkeypatch.setenv("SLACK_TOKEN", TOKEN)
    monkeypatch.setenv("SLACK_SIGNING", SIGNING)
    shutil.copyfile(_sqlite_template, tmp_path / "sophia.db")
    settings = load_settings(config).model_copy(update={"home": tmp_path})
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'sophia.db'}")
    accounts = AccountService(database)
    admin = await accounts.create_user("ada", Role.ADMIN)
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
            yield client, services, admin.id
    finally:
        await runs.aclose()
        await services.tools.aclose()
        await gateway.aclose()
        await database.close()


async def test_an_approval_button_click_approves_the_held_call_which_runs_once(
    server: tuple[httpx.AsyncClient, Services, int], stand_in: SlackStandIn
) -> None:
    client, services, admin_id = server
    assert services.tools is not None and services.tools.connectors is not None
    context = ToolContext(user_id=admin_id, user_name="ada", role=Role.ADMIN, run_id=None)
    with pytest.raises(ApprovalRequired) as held:
        await services.tools.invoker.invoke(
            "slack.chat.post", {"channel": "C0RESULT", "text": "PR opened"}, context
        )
    approval_id = held.value.approval.id
    connector: Any = services.tools.connectors.get("slack")
    await connector.post_approval(approval_id, "slack.chat.post", "post 'PR opened' to C0RESULT")
    request = stand_in.calls[-1][1]
    buttons = request["blocks"][1]["elements"]
    assert request["channel"] == "C0APPROVE" and [b["value"] for b in buttons] == [approval_id, approval_id]
    url = "/v1/connectors/slack/webhook"
    form = "application/x-www-form-urlencoded"

    forged = _click(approval_id, "U0ADA")
    refused = await client.post(url, content=forged, headers=_signed(forged, form, secret="forged"))
    assert refused.status_code == 401
    stranger = _click(approval_id, "U0EVE", ts="1.1")
    ignored = (await client.post(url, content=stranger, headers=_signed(stranger, form))).json()
    assert ignored["decision"]["applied"] is False
    unknown = _click(approval_id, "U0BOB", ts="1.2")
    assert (await client.post(url, content=unknown, headers=_signed(unknown, form))).json()["decision"][
        "applied"
    ] is False
    assert not any(
        c == ("chat.postMessage", {"channel": "C0RESULT", "text": "PR opened"}) for c in stand_in.calls
    )

    click = _click(approval_id, "U0ADA")
    decided = (await client.post(url, content=click, headers=_signed(click, form))).json()
    assert decided["decision"]["applied"] is True and decided["decision"]["status"] == "approved"
    assert decided["decision"]["execution"] == "succeeded"
    again = (await client.post(url, content=click, headers=_signed(click, form))).json()
    assert again["duplicate"] is True
    late = _click(approval_id, "U0ADA", action_id="sophia_deny", ts="9.9")
    assert (await client.post(url, content=late, headers=_signed(late, form))).json()["decision"][
        "applied"
    ] is False
    results = [
        c for c in stand_in.calls if c == ("chat.postMessage", {"channel": "C0RESULT", "text": "PR opened"})
    ]
    assert len(results) == 1
