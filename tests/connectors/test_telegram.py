"""Telegram against responses shaped as the Bot API documents (core.telegram.org/bots/api), token redaction,
MarkdownV2 escaping, the secret-token webhook, and approval buttons through the webhook route."""

from __future__ import annotations

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


@pytest.fixture
async def served(
    tmp_path: Path, _sqlite_template: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Any]:
    from sophia.config import load_settings
    from sophia.gateway import build_gateway

    calls: list[tuple[str, dict[str, Any]]] = []
    bot = FastAPI()

    @bot.post("/bot{token}/{method}")
    async def call(token: str, method: str, request: Request) -> Any:
        calls.append((method, await request.json()))
        if method == "answerCallbackQuery":
            return {"ok": True, "result": True}
        return {
            "ok": True,
            "result": {"message_id": len(calls), "date": 1, "chat": {"id": 5, "type": "private"}},
        }

    with serve_app(bot) as url:
        config = tmp_path / "sophia.toml"
        config.write_text(
            f'[connectors.telegram]\nbase_url = "{url}"\n'
            'credentials = { token = "env:TG", webhook_secret = "env:TGS" }\n'
            'options = { approvals_chat = "5", approvers = { "9001" = "ada" } }\n'
        )
        monkeypatch.setenv("TG", TOKEN)
        monkeypatch.setenv("TGS", SECRET)
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
                transport=httpx.ASGITransport(app=app), base_url="http://t"
            ) as client:
                yield client, services, admin.id, calls
        finally:
            await runs.aclose()
            await services.tools.aclose()
            await gateway.aclose()
            await database.close()


async def test_an_inline_keyboard_click_denies_or_approves_through_the_webhook(served: Any) -> None:
    client, services, admin_id, calls = served
    context = ToolContext(user_id=admin_id, user_name="ada", role=Role.ADMIN, run_id=None)
    with pytest.raises(ApprovalRequired) as held:
        await services.tools.invoker.invoke(
            "telegram.messages.send", {"chat_id": "77", "text": "deploy"}, context
        )
    approval_id = held.value.approval.id
    await services.tools.connectors.get("telegram").post_approval(approval_id, "telegram.messages.send", "x")
    keyboard = calls[-1][1]["reply_markup"]["inline_keyboard"][0]
    assert [b["callback_data"] for b in keyboard] == [
        f"sophia:approve:{approval_id}",
        f"sophia:deny:{approval_id}",
    ]

    def press(update_id: int, user: int, data: str) -> bytes:
        return json.dumps(
            {
                "update_id": update_id,
                "callback_query": {
                    "id": f"cb{update_id}",
                    "from": {"id": user, "is_bot": False, "first_name": "A"},
                    "chat_instance": "-1",
                    "data": data,
                },
            }
        ).encode()

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
