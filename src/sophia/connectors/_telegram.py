"""Telegram Bot API: messages (MarkdownV2 escaped), documents, approval buttons, updates by webhook or polling.

The bot token sits in the URL path (`/bot<token>/<method>`); it is registered with the redactor before the first
request, so error messages, logs and dry-run previews show `[redacted]` in its place.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from sophia.connectors._errors import ConnectorError, ConnectorInvalid
from sophia.connectors._model import (
    ApprovalDecision,
    CheckResult,
    Connector,
    Credential,
    WebhookEvent,
    action,
)
from sophia.connectors._webhooks import WebhookRefused, verify_token
from sophia.observability import redactor
from sophia.tools import SideEffect

__all__ = ["MARKDOWN_V2_RESERVED", "Telegram", "escape_markdown_v2"]

MARKDOWN_V2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!\\")
"""Characters MarkdownV2 reserves (core.telegram.org/bots/api#markdownv2-style), backslash included."""

_APPROVE, _DENY = "sophia:approve:", "sophia:deny:"


def escape_markdown_v2(text: str) -> str:
    """Text shown exactly as given under parse_mode MarkdownV2: every reserved character gets a backslash."""
    return "".join("\\" + char if char in MARKDOWN_V2_RESERVED else char for char in text)


def _message(m: dict[str, Any]) -> dict[str, Any]:
    return {
        "message_id": m.get("message_id"),
        "chat_id": (m.get("chat") or {}).get("id"),
        "date": m.get("date"),
    }


class Telegram(Connector):
    """A bot from @BotFather; the webhook secret is the `secret_token` given to setWebhook."""

    kind = "telegram"
    title = "Telegram"
    group = "integrations"
    default_base_url = "https://api.telegram.org"
    docs_url = "https://core.telegram.org/bots/api"
    credentials = (
        Credential("token", "the bot token from @BotFather"),
        Credential("webhook_secret", "the secret_token set with setWebhook", required=False),
    )

    async def _call(
        self,
        method: str,
        payload: dict[str, Any] | None = None,
        *,
        reads: bool = False,
        timeout: float | None = None,
        files: dict[str, tuple[str, bytes, str]] | None = None,
    ) -> Any:
        """One Bot API method: JSON, or multipart/form-data when `files` uploads an InputFile."""
        token = self.credential("token")
        redactor.add(token)
        sent: dict[str, Any] = (
            {"data": {k: v if isinstance(v, str) else json.dumps(v) for k, v in (payload or {}).items()}}
            if files
            else {"json": payload or {}}
        )
        body = await self.http.json(
            "POST", f"/bot{token}/{method}", files=files, reads=reads, timeout=timeout, **sent
        )
        if not isinstance(body, dict) or body.get("ok") is not True:
            said = body.get("description", "unknown error") if isinstance(body, dict) else "not JSON"
            raise ConnectorError(
                f"Telegram refused {method}: {redactor.redact(str(said))[:200]}", service="Telegram"
            )
        return body.get("result")

    async def check(self) -> CheckResult:
        me = await self._call("getMe", reads=True)
        return CheckResult(
            True, f"bot @{me.get('username')}", {"id": me.get("id"), "username": me.get("username")}
        )

    @action("messages.send", SideEffect.WRITE)
    async def send_message(
        self,
        chat_id: Annotated[str, "The chat id (a number) or @channelusername."],
        text: Annotated[
            str, "The text; shown exactly as written (escaped for MarkdownV2) unless markdown=true."
        ],
        markdown: Annotated[bool, "The text is already MarkdownV2 (formatting intended)."] = False,
        reply_to_message_id: Annotated[int | None, "Reply to this message."] = None,
    ) -> dict[str, Any]:
        """Send a text message to a chat."""
        payload: dict[str, Any] = {
            "chat_id": chat_id,
            "text": text if markdown else escape_markdown_v2(text),
            "parse_mode": "MarkdownV2",
        }
        if reply_to_message_id is not None:
            payload["reply_parameters"] = {"message_id": reply_to_message_id}
        return _message(await self._call("sendMessage", payload))

    @action("documents.send", SideEffect.WRITE)
    async def send_document(
        self,
        chat_id: Annotated[str, "The chat id."],
        document: Annotated[str, "A file_id already on Telegram, or an HTTP URL Telegram fetches."],
        caption: Annotated[str | None, "A caption (shown as written)."] = None,
        photo: Annotated[bool, "Send it as a photo (sendPhoto) instead of a document."] = False,
    ) -> dict[str, Any]:
        """Send a document or a photo by file_id or URL."""
        field = "photo" if photo else "document"
        payload: dict[str, Any] = {"chat_id": chat_id, field: document}
        if caption:
            payload |= {"caption": escape_markdown_v2(caption), "parse_mode": "MarkdownV2"}
        return _message(await self._call("sendPhoto" if photo else "sendDocument", payload))

    async def send_photo_file(
        self, chat_id: str, photo: bytes, *, filename: str = "chart.png", caption: str | None = None
    ) -> dict[str, Any]:
        """sendPhoto with the image uploaded as multipart/form-data (a report's PNG chart); at most 1024
        characters of caption, as the Bot API allows."""
        payload: dict[str, Any] = {"chat_id": chat_id}
        if caption:
            payload |= {"caption": escape_markdown_v2(caption[:1000]), "parse_mode": "MarkdownV2"}
        found = await self._call("sendPhoto", payload, files={"photo": (filename, photo, "image/png")})
        return _message(found)

    @action("updates.get")
    async def get_updates(
        self,
        offset: Annotated[
            int | None, "The first update_id to return (last seen + 1 confirms the earlier ones)."
        ] = None,
        limit: Annotated[int, "At most this many (1-100)."] = 100,
    ) -> list[dict[str, Any]]:
        """Pending updates by long polling (only while no webhook is set)."""
        payload: dict[str, Any] = {"limit": max(1, min(limit, 100)), "timeout": 0}
        if offset is not None:
            payload["offset"] = offset
        found = await self._call("getUpdates", payload, reads=True)
        return list(found or [])

    @action("webhook.set", SideEffect.WRITE)
    async def set_webhook(
        self, url: Annotated[str, "https://<sophia>/v1/connectors/<name>/webhook"]
    ) -> dict[str, Any]:
        """Point the bot's updates at Sophia's webhook, signed with the configured secret token."""
        await self._call("setWebhook", {"url": url, "secret_token": self.webhook_secret()})
        return {"url": url, "set": True}

    async def post_approval(
        self, approval_id: str, tool: str, summary: str, chat_id: str | None = None
    ) -> Any:
        """The approve/deny message for one held call, to `chat_id` or the `approvals_chat` option."""
        where = chat_id or self.options.get("approvals_chat")
        if not where:
            raise ConnectorInvalid(
                f"{self.name}: set options.approvals_chat to the chat approval requests go to",
                service="Telegram",
            )
        keyboard = {
            "inline_keyboard": [
                [
                    {"text": "Approve", "callback_data": f"{_APPROVE}{approval_id}"[:64]},
                    {"text": "Deny", "callback_data": f"{_DENY}{approval_id}"[:64]},
                ]
            ]
        }
        text = escape_markdown_v2(f"Approval needed: {tool}\n{summary}")[:4000]
        payload = {"chat_id": where, "text": text, "parse_mode": "MarkdownV2", "reply_markup": keyboard}
        return _message(await self._call("sendMessage", payload))

    def announces_approvals(self) -> bool:
        return bool(self.options.get("approvals_chat"))

    def polls_events(self) -> bool:
        return bool(self.options.get("poll_updates"))

    async def poll_events(
        self, after: str | None, wait_seconds: float
    ) -> tuple[list[WebhookEvent], str | None]:
        """getUpdates as a long poll; asking from `after` confirms (drops) every update before it."""
        wait = max(0, int(wait_seconds))
        payload: dict[str, Any] = {"timeout": wait, "limit": 100}
        if after is not None:
            payload["offset"] = int(after)
        found = await self._call("getUpdates", payload, reads=True, timeout=wait + 15.0)
        updates = [u for u in (found or []) if isinstance(u, dict) and isinstance(u.get("update_id"), int)]
        if not updates:
            return [], after
        return [self.event_of(u) for u in updates], str(max(u["update_id"] for u in updates) + 1)

    async def announce_approval(self, approval_id: str, tool: str, summary: str) -> None:
        await self.post_approval(approval_id, tool, summary)

    async def acknowledge(self, event: WebhookEvent, outcome: str) -> None:
        """Answer the pressed button (answerCallbackQuery), so the client stops its spinner and shows why."""
        if event.type == "callback_query" and event.payload.get("id"):
            await self._call(
                "answerCallbackQuery", {"callback_query_id": event.payload["id"], "text": outcome[:200]}
            )

    def verify_webhook(self, headers: dict[str, str], body: bytes, secret: str) -> WebhookEvent:
        verify_token(
            secret, headers.get("x-telegram-bot-api-secret-token"), "X-Telegram-Bot-Api-Secret-Token"
        )
        try:
            update = json.loads(body)
        except json.JSONDecodeError:
            raise WebhookRefused("the Telegram update is not JSON") from None
        if not isinstance(update, dict):
            raise WebhookRefused("the Telegram update is not a JSON object")
        return self.event_of(update)

    def event_of(self, update: dict[str, Any]) -> WebhookEvent:
        """An update (from the webhook or getUpdates) as an event; a button click carries its decision."""
        update_id = str(update.get("update_id", ""))
        query = update.get("callback_query")
        if isinstance(query, dict):
            data, user = str(query.get("data", "")), str((query.get("from") or {}).get("id", ""))
            decision = None
            for prefix, approve in ((_APPROVE, True), (_DENY, False)):
                if data.startswith(prefix) and len(data) > len(prefix):
                    approvers = self.options.get("approvers") or {}
                    mapped = approvers.get(user) if isinstance(approvers, dict) else None
                    decision = ApprovalDecision(data[len(prefix) :], approve, user, mapped or None)
            return WebhookEvent(
                "callback_query",
                update_id,
                {"user": user, "data": data, "id": query.get("id")},
                summary=f"{user} pressed {data[:40]}",
                decision=decision,
            )
        kind = next((k for k in update if k != "update_id"), "unknown")
        found = update.get(kind)
        message: dict[str, Any] = found if isinstance(found, dict) else {}
        return WebhookEvent(kind, update_id, update, summary=str(message.get("text", ""))[:500])
