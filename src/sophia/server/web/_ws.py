"""The chat over a WebSocket for programmatic clients, authenticated by API key or by a same-origin session."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from sophia.accounts import Principal
from sophia.errors import AuthError, SophiaError
from sophia.gateway import Caller
from sophia.server._middleware import new_request_id
from sophia.server._openai import caller_of
from sophia.server.web._chat import Asker, Final, Held, Started, Token
from sophia.server.web._guard import MODEL_USERS, SESSION_COOKIE
from sophia.server.web._memories import memory_of
from sophia.server.web._state import WebState, web_state

router = APIRouter(tags=["web"])
POLICY_VIOLATION = 1008


def _same_origin(ws: WebSocket) -> bool:
    """Browsers always send Origin on WebSockets; a cookie alone must not let another site drive the chat."""
    origin = ws.headers.get("origin")
    return origin is not None and urlsplit(origin).netloc == ws.headers.get("host")


async def _principal(ws: WebSocket) -> tuple[Principal, Caller] | None:
    web = web_state(ws)
    header = ws.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip() if scheme.lower() == "bearer" else ws.headers.get("x-api-key", "").strip()
    try:
        if token:
            principal = await web.services.keys.verify(token)
            caller = caller_of(principal)
            if not principal.allows("chat"):
                return None
        elif _same_origin(ws) and (session := await web.sessions.lookup(ws.cookies.get(SESSION_COOKIE, ""))):
            principal = Principal(session.user_id, session.user_name, session.role, None, ("*",), None)
            caller = Caller(user_id=str(session.user_id))
        else:
            return None
    except AuthError:
        return None
    return (principal, caller) if principal.role in MODEL_USERS else None


@router.websocket("/ws/chat")
async def chat_socket(ws: WebSocket) -> None:
    """Send {"type": "message", "content", "conversation_id"?, "model"?}; receive start, approval…, token…, done;
    send stop."""
    found = await _principal(ws)
    if found is None:
        await ws.close(code=POLICY_VIOLATION, reason="send an API key (Authorization: Bearer) or sign in")
        return
    principal, caller = found
    await ws.accept()
    try:
        while True:
            incoming = await ws.receive_json()
            if not isinstance(incoming, dict) or incoming.get("type") != "message":
                await ws.send_json({"type": "error", "code": "invalid_input", "message": "send a 'message'"})
                continue
            try:
                asker = Asker(principal.user_id, principal.user_name, principal.role)
                await _turn(ws, web_state(ws), asker, caller, incoming)
            except SophiaError as error:
                await ws.send_json({"type": "error", "code": error.code, "message": error.message})
    except WebSocketDisconnect:
        return


async def _turn(ws: WebSocket, web: WebState, asker: Asker, caller: Caller, incoming: dict[str, Any]) -> None:
    owner = asker.user_id
    model = str(incoming.get("model") or "auto")
    conversation_id = incoming.get("conversation_id")
    if not isinstance(conversation_id, str):
        conversation_id = (await web.conversations.create(owner, model)).id
    _, answer = await web.conversations.add_turn(
        owner, conversation_id, str(incoming.get("content") or ""), model
    )
    sending = asyncio.ensure_future(_send_answer(ws, web, asker, caller, conversation_id, answer.id))
    while not sending.done():
        receiving = asyncio.ensure_future(ws.receive_json())
        done, _ = await asyncio.wait({sending, receiving}, return_when=asyncio.FIRST_COMPLETED)
        if receiving in done:
            command = receiving.result()
            if isinstance(command, dict) and command.get("type") == "stop":
                web.chat.stop(answer.id)
        else:
            receiving.cancel()
    sending.result()


async def _send_answer(
    ws: WebSocket, web: WebState, asker: Asker, caller: Caller, cid: str, mid: int
) -> None:
    memory = await memory_of(ws)
    async for event in web.chat.answer(asker, mid, caller, new_request_id(), memory):
        if isinstance(event, Started):
            await ws.send_json(
                {"type": "start", "conversation_id": cid, "message_id": mid, "model": event.model}
            )
        elif isinstance(event, Token):
            await ws.send_json({"type": "token", "text": event.text})
        elif isinstance(event, Held):  # decide with POST /v1/approvals/{id}/approve|deny; the turn goes on
            a = event.approval
            await ws.send_json(
                {
                    "type": "approval",
                    "approval_id": a.id,
                    "tool": a.tool,
                    "effect": a.effect,
                    "arguments": a.arguments,
                }
            )
        elif isinstance(event, Final):
            m = event.message
            await ws.send_json(
                {
                    "type": "done",
                    "conversation_id": cid,
                    "message_id": mid,
                    "status": m.status,
                    "model": m.model,
                    "content": m.content,
                    "input_tokens": m.input_tokens,
                    "output_tokens": m.output_tokens,
                    "cost_usd": m.cost_usd,
                    "request_id": m.request_id,
                    "error": m.error,
                    "citations": [
                        {"ref": c.ref, "id": c.id, "title": c.title, "kind": c.kind} for c in event.citations
                    ],
                }
            )
