"""Telegram against responses shaped as the Bot API documents (core.telegram.org/bots/api), token redaction,
MarkdownV2 escaping, the secret-token webhook, and approval buttons through the webhook route."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from hypothesis import given
from hypothesis import strategies as st

from sophia.accounts import AccountService, Role
from sophia.config import ConnectorSettings
from sophia.connectors import (
    ConnectorAuthError,
    ConnectorRateLimited,
    Connectors,
    WebhookRefused,
    build_connector,
)
from sophia.runs import RunService, system_database_url
from sophia.secrets import SecretResolver
from sophia.server import Services, create_app
from sophia.server._toolkit import open_toolkit
from sophia.store import Database
from sophia.tools import ApprovalRequired, ToolContext, ToolInvoker, ToolRegistry
from tests.serving import serve_app

TOKEN = "123456:ABC-DEF1234ghIkl-fake-zyx57W2v1u123ew11"
SECRET = "telegram-hook-5ecret-fake"
RESERVED = "_*[]()~`>#+-=|{}.!\\"


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text, flags=re.DOTALL)


@given(st.text())
def test_markdown_v2_escape_round_trips_and_leaves_no_reserved_character_bare(text: str) -> None:
    from sophia.connectors._telegram import escape_markdown_v2

    escaped = escape_markdown_v2(text)
    assert _unescape(escaped) == text
    i = 0
    while i < len(escaped):
        if escaped[i] == "\\":
            assert escaped[i + 1] in RESERVED
            i += 2
            continue
        assert escaped[i] not in RESERVED
        i += 1


def _transport(calls: list[tuple[str, dict[str, Any]]], script: list[Any]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        method = request.url.path.rsplit("/", 1)[-1]
        calls.append((method, json.loads(request.content or b"{}")))
        if script:
            status, body = script.pop(0)
            return httpx.Response(status, json=body)
        if not request.url.path.startswith(f"/bot{TOKEN}/"):
            return httpx.Response(401, json={"ok": False, "error_code": 401, "description": "Unauthorized"})
        result: Any = {
            "message_id": 42,
            "date": 1700000000,
            "chat": {"id": -100123, "type": "supergroup"},
            "text": "x",
        }
        if method == "getMe":
            result = {"id": 123456, "is_bot": True, "first_name": "Sophia", "username": "sophia_bot"}
        if method == "getUpdates":
            result = [
                {
                    "update_id": 7,
                    "message": {
                        "message_id": 1,
                        "date": 1,
                        "chat": {"id": 5, "type": "private"},
                        "text": "hello",
                    },
                }
            ]
        if method in ("setWebhook", "answerCallbackQuery"):
            result = True
        return httpx.Response(200, json={"ok": True, "result": result})

    return httpx.MockTransport(handle)


def _telegram(home: Path, calls: list[Any], script: list[Any] | None = None, token: str = TOKEN) -> Any:
    settings = ConnectorSettings(
        kind="telegram",
        credentials={"token": "env:TG", "webhook_secret": "env:TGS"},
        options={"approvers": {"9001": "ada"}},
        max_retries=1,
    )
    resolver = SecretResolver(home, environ={"TG": token, "TGS": SECRET})
    return build_connector("telegram", settings, resolver, transport=_transport(calls, script or []))


async def test_send_message_escapes_and_check_and_polling_read(home: Path) -> None:
    calls: list[Any] = []
    tg = _telegram(home, calls)
    sent = await tg.send_message("-100123", "v1.2 (ok)!", reply_to_message_id=3)
    assert sent == {"message_id": 42, "chat_id": -100123, "date": 1700000000}
    assert calls[-1] == (
        "sendMessage",
        {
            "chat_id": "-100123",
            "text": "v1\\.2 \\(ok\\)\\!",
            "parse_mode": "MarkdownV2",
            "reply_parameters": {"message_id": 3},
        },
    )
    await tg.send_document("-100123", "https://example.com/a.pdf", caption="a.pdf")
    assert calls[-1][0] == "sendDocument" and calls[-1][1]["caption"] == "a\\.pdf"
    await tg.send_document("-100123", "AgACAgIAAxk", photo=True)
    assert calls[-1][0] == "sendPhoto" and calls[-1][1]["photo"] == "AgACAgIAAxk"
    assert (await tg.check()).message == "bot @sophia_bot"
    assert (await tg.get_updates(offset=7))[0]["update_id"] == 7 and calls[-1][1]["offset"] == 7
    await tg.aclose()


async def test_bad_token_and_429_never_show_the_token(home: Path) -> None:
    calls: list[Any] = []
    bad = _telegram(home, calls, token="999:wrong-token-value")
    with pytest.raises(ConnectorAuthError) as refused:
        await bad.check()
    assert "wrong-token-value" not in refused.value.message and "Unauthorized" in refused.value.message
    await bad.aclose()
    limited = _telegram(
        home,
        calls,
        [
            (
                429,
                {
                    "ok": False,
                    "error_code": 429,
                    "description": "Too Many Requests: retry after 0",
                    "parameters": {"retry_after": 0},
                },
            )
        ]
        * 2,
    )
    with pytest.raises(ConnectorRateLimited) as slow:
        await limited.send_message("1", "x")
    assert TOKEN not in slow.value.message and "[redacted]" in slow.value.message.lower()
    await limited.aclose()


async def test_dry_run_hides_the_token_in_the_url(home: Path, database: Database) -> None:
    calls: list[Any] = []
    tg = _telegram(home, calls)
    registry = ToolRegistry()
    Connectors({"telegram": tg}).register_tools(registry)
    invoker = ToolInvoker(registry, database)
    context = ToolContext(user_id=1, user_name="ada", role=Role.MEMBER, run_id="r")
    for tool, args in {
        "telegram.messages.send": {"chat_id": "1", "text": "hi"},
        "telegram.documents.send": {"chat_id": "1", "document": "F"},
        "telegram.webhook.set": {"url": "https://sophia.example/v1/connectors/telegram/webhook"},
    }.items():
        result = await invoker.invoke(tool, {**args, "dry_run": True}, context)
        assert result.output["sent"] is False and TOKEN not in json.dumps(result.output), tool
        assert "[redacted]" in result.output["request"]["url"].lower()
    assert calls == []
    await tg.aclose()


def test_webhook_needs_the_secret_token_and_parses_updates(home: Path) -> None:
    tg = _telegram(home, [])
    update = json.dumps(
        {
            "update_id": 10000,
            "message": {
                "message_id": 1365,
                "date": 1441645532,
                "chat": {"id": 1111111, "type": "private"},
                "text": "/start",
            },
        }
    ).encode()
    event = tg.verify_webhook({"x-telegram-bot-api-secret-token": SECRET}, update, SECRET)
    assert event.type == "message" and event.id == "10000" and event.summary == "/start"
    with pytest.raises(WebhookRefused):
        tg.verify_webhook({"x-telegram-bot-api-secret-token": "guess"}, update, SECRET)
    with pytest.raises(WebhookRefused):
        tg.verify_webhook({}, update, SECRET)


class Bot:
    """A Bot API stand-in: records every call and hands out queued updates to getUpdates from its offset."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.updates: list[dict[str, Any]] = []

    def app(self) -> FastAPI:
        bot = FastAPI()

        @bot.post("/bot{token}/{method}")
        async def call(token: str, method: str, request: Request) -> Any:
            body = await request.json()
            self.calls.append((method, body))
            if method == "answerCallbackQuery":
                return {"ok": True, "result": True}
            if method == "getUpdates":
                offset = int(body.get("offset", 0))
                found = [u for u in self.updates if u["update_id"] >= offset]
                if not found:  # a long poll waits on the server for its timeout (shortened here)
                    await asyncio.sleep(min(float(body.get("timeout", 0)), 0.1))
                return {"ok": True, "result": found}
            return {
                "ok": True,
                "result": {"message_id": len(self.calls), "date": 1, "chat": {"id": 5, "type": "private"}},
            }

        return bot


@contextlib.asynccontextmanager
async def _served(
    tmp_path: Path, template: Path, monkeypatch: pytest.MonkeyPatch, options: str
) -> AsyncIterator[Any]:
    """The app with a Telegram connector (approvals to chat 5, Telegram user 9001 is ada), its lifespan running."""
    from sophia.config import load_settings
    from sophia.gateway import build_gateway

    stand_in = Bot()
    with serve_app(stand_in.app()) as url:
        config = tmp_path / "sophia.toml"
        config.write_text(
            f'[server]\nrun_worker = false\n[connectors.telegram]\nbase_url = "{url}"\n'
            'credentials = { token = "env:TG", webhook_secret = "env:TGS" }\n'
            f'options = {{ approvals_chat = "5", approvers = {{ "9001" = "ada" }}{options} }}\n'
        )
        monkeypatch.setenv("TG", TOKEN)
        monkeypatch.setenv("TGS", SECRET)
        shutil.copyfile(template, tmp_path / "sophia.db")
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
        try:
            async with (
                app.router.lifespan_context(app),
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
            ):
                app.state.run_service = runs
                yield client, services, admin.id, stand_in
        finally:
            await runs.aclose()
            await services.tools.aclose()
            await gateway.aclose()
            await database.close()


@pytest.fixture
async def served(
    tmp_path: Path, _sqlite_template: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Any]:
    async with _served(tmp_path, _sqlite_template, monkeypatch, "") as found:
        yield found


def _press(update_id: int, user: int, data: str) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"cb{update_id}",
            "from": {"id": user, "is_bot": False, "first_name": "A"},
            "chat_instance": "-1",
            "data": data,
        },
    }


async def _hold_a_send(services: Any, admin_id: int) -> str:
    context = ToolContext(user_id=admin_id, user_name="ada", role=Role.ADMIN, run_id=None)
    with pytest.raises(ApprovalRequired) as held:
        await services.tools.invoker.invoke(
            "telegram.messages.send", {"chat_id": "77", "text": "deploy"}, context
        )
    return held.value.approval.id


async def test_an_inline_keyboard_click_denies_or_approves_through_the_webhook(served: Any) -> None:
    client, services, admin_id, stand_in = served
    calls = stand_in.calls
    approval_id = await _hold_a_send(services, admin_id)
    method, announced = calls[-1]  # the hold itself posted the buttons to the approvals chat
    assert method == "sendMessage" and announced["chat_id"] == "5"
    assert "telegram\\.messages\\.send" in announced["text"] and "deploy" in announced["text"]
    keyboard = announced["reply_markup"]["inline_keyboard"][0]
    assert [b["callback_data"] for b in keyboard] == [
        f"sophia:approve:{approval_id}",
        f"sophia:deny:{approval_id}",
    ]

    def press(update_id: int, user: int, data: str) -> bytes:
        return json.dumps(_press(update_id, user, data)).encode()

    url, ok = "/v1/connectors/telegram/webhook", {"x-telegram-bot-api-secret-token": SECRET}
    forged = await client.post(
        url,
        content=press(1, 9001, keyboard[0]["callback_data"]),
        headers={"x-telegram-bot-api-secret-token": "nope"},
    )
    assert forged.status_code == 401
    stranger = (
        await client.post(url, content=press(2, 4444, keyboard[0]["callback_data"]), headers=ok)
    ).json()
    assert "decision" in stranger, stranger
    assert stranger["decision"]["applied"] is False
    assert calls[-1] == (
        "answerCallbackQuery",
        {"callback_query_id": "cb2", "text": stranger["decision"]["reason"][:200]},
    )
    approved = (
        await client.post(url, content=press(3, 9001, keyboard[0]["callback_data"]), headers=ok)
    ).json()
    assert approved["decision"]["status"] == "approved" and approved["decision"]["execution"] == "succeeded"
    assert [c for c in calls if c[0] == "sendMessage" and c[1]["chat_id"] == "77"] == [
        ("sendMessage", {"chat_id": "77", "text": "deploy", "parse_mode": "MarkdownV2"})
    ]
    assert calls[-1] == ("answerCallbackQuery", {"callback_query_id": "cb3", "text": "approved"})


async def test_polled_updates_decide_held_calls_once_with_no_webhook(
    tmp_path: Path, _sqlite_template: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    options = ", poll_updates = true, poll_wait_seconds = 1"
    async with _served(tmp_path, _sqlite_template, monkeypatch, options) as (client, services, admin_id, bot):
        approval_id = await _hold_a_send(services, admin_id)
        bot.updates.append(_press(40, 9001, f"sophia:approve:{approval_id}"))
        for _ in range(400):
            decided = await services.tools.invoker.approval(approval_id)
            if decided.execution == "succeeded":
                break
            await asyncio.sleep(0.05)
        assert decided.status == "approved" and decided.execution == "succeeded"
        sent = [c for c in bot.calls if c[0] == "sendMessage" and c[1]["chat_id"] == "77"]
        assert sent == [("sendMessage", {"chat_id": "77", "text": "deploy", "parse_mode": "MarkdownV2"})]
        polls = [c[1] for c in bot.calls if c[0] == "getUpdates"]
        for _ in range(200):  # the next poll confirms update 40 by asking from 41
            if any(p.get("offset") == 41 for p in polls):
                break
            await asyncio.sleep(0.05)
            polls = [c[1] for c in bot.calls if c[0] == "getUpdates"]
        assert any(p.get("offset") == 41 for p in polls)
        acks = [c for c in bot.calls if c[0] == "answerCallbackQuery"]
        assert acks == [("answerCallbackQuery", {"callback_query_id": "cb40", "text": "approved"})]
        events = (await client.get("/v1/connectors/telegram/events")).status_code
        assert events == 401  # the event list is for signed-in admins only
