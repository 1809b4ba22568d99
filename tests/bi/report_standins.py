"""Stand-ins for the report tests: the Slack Web API one from tests/connectors/test_slack.py, and a Telegram Bot API
one over real HTTP that takes sendMessage as JSON and sendPhoto as multipart/form-data, as the Bot API documents."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tests.connectors.test_slack import TOKEN as SLACK_TOKEN
from tests.connectors.test_slack import SlackStandIn, _slack_app
from tests.serving import serve_app

__all__ = [
    "SLACK_TOKEN",
    "TELEGRAM_TOKEN",
    "SlackStandIn",
    "TelegramStandIn",
    "slack_standin",
    "telegram_standin",
]

TELEGRAM_TOKEN = "123456:ABC-report-bot-fake-token"


@dataclass
class TelegramStandIn:
    messages: list[dict[str, Any]] = field(default_factory=list)
    photos: list[tuple[dict[str, Any], bytes, str]] = field(default_factory=list)
    url: str = ""


def _telegram_app(s: TelegramStandIn) -> FastAPI:
    app = FastAPI()

    @app.post("/bot{token}/{method}")
    async def call(token: str, method: str, request: Request) -> Any:
        if token != TELEGRAM_TOKEN:
            return JSONResponse(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status_code=401
            )
        chat = {"id": -100777, "type": "supergroup"}
        if method == "sendMessage":
            s.messages.append(json.loads(await request.body()))
        elif method == "sendPhoto":
            async with request.form() as form:
                upload = form["photo"]
                if isinstance(upload, str):  # a file_id or URL; the reports always upload
                    refused = {"ok": False, "error_code": 400, "description": "Bad Request: no file"}
                    return JSONResponse(refused, status_code=400)
                fields = {k: v for k, v in form.items() if k != "photo"}
                s.photos.append((fields, await upload.read(), upload.content_type or ""))
        else:
            return JSONResponse({"ok": False, "error_code": 404, "description": "Not Found"}, status_code=404)
        return {
            "ok": True,
            "result": {"message_id": len(s.messages) + len(s.photos), "date": 1, "chat": chat},
        }

    return app


@contextmanager
def slack_standin() -> Iterator[SlackStandIn]:
    s = SlackStandIn()
    with serve_app(_slack_app(s)) as url:
        s.url = url
        yield s


@contextmanager
def telegram_standin() -> Iterator[TelegramStandIn]:
    s = TelegramStandIn()
    with serve_app(_telegram_app(s)) as url:
        s.url = url
        yield s
