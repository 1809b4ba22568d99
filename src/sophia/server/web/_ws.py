"""The chat over a WebSocket for programmatic clients, authenticated by API key or by a same-origin session."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from sophia.accounts import KeyBudgets, Principal
from sophia.errors import AuthError, SophiaError
from sophia.gateway import Caller
from sophia.server._middleware import new_request_id
from sophia.server._openai import caller_of
from sophia.server._ratelimit import client_address
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
    send stop.

    Messages are read as they arrive and queued, so none is lost while an answer streams; they are answered in
    order. Before each turn a key is checked again (through the verifier's cache) and charged like a `/v1/` call.
    """
    found = await _principal(ws)
    if found is None:
        await ws.close(code=POLICY_VIOLATION, reason="send an API key (Authorization: Bearer) or sign in")
        return
    principal, caller = found
    web = web_state(ws)
    await ws.accept()
    inbox: asyncio.Queue[Any] = asyncio.Queue()
    answering: list[int] = []  # the message id being answered now, which a "stop" stops
    reader = asyncio.ensure_future(_read_into(ws, web, inbox, answering))
    try:
        while (incoming := await inbox.get()) is not _CLOSED:
            if not isinstance(incoming, dict) or incoming.get("type") != "message":
                await ws.send_json({"type": "error", "code": "invalid_input", "message": "send a 'message'"})
                continue
            try:
                if principal.key_id is not None:
                    await _admit_turn(ws, web)
                asker = Asker(principal.user_id, principal.user_name, principal.role)
                await _turn(ws, web, asker, caller, incoming, answering)
            except AuthError as error:
                await ws.send_json({"type": "error", "code": error.code, "message": error.message})
                await ws.close(code=POLICY_VIOLATION, reason=error.message[:120])
                return
            except SophiaError as error:
                await ws.send_json({"type": "error", "code": error.code, "message": error.message})
    except WebSocketDisconnect:
        return
    finally:
        reader.cancel()


_CLOSED = object()


async def _read_into(ws: WebSocket, web: WebState, inbox: asyncio.Queue[Any], answering: list[int]) -> None:
    """Every client message into the queue; a "stop" acts at once on the answer in progress."""
    try:
        while True:
            try:
                incoming = await ws.receive_json()
            except ValueError:  # not JSON: answered in turn as an invalid message
                incoming = None
            if isinstance(incoming, dict) and incoming.get("type") == "stop":
                if answering:
                    web.chat.stop(answering[-1])
                continue
            inbox.put_nowait(incoming)
    except (WebSocketDisconnect, RuntimeError):
        inbox.put_nowait(_CLOSED)


async def _admit_turn(ws: WebSocket, web: WebState) -> None:
    """The key again (revoked or expired keys stop here within the cache time) and the API's rate limits."""
    await web.services.admission.admit(
        ws.scope["headers"], client_address(ws.scope), KeyBudgets.for_api(web.options)
    )


async def _turn(
    ws: WebSocket, web: WebState, asker: Asker, caller: Caller, incoming: dict[str, Any], answering: list[int]
) -> None:
    owner = asker.user_id
    model = str(incoming.get("model") or "auto")
    conversation_id = incoming.get("conversation_id")
    if not isinstance(conversation_id, str):
        conversation_id = (await web.conversations.create(owner, model)).id
    _, answer = await web.conversations.add_turn(
        owner, conversation_id, str(incoming.get("content") or ""), model
    )
    answering.append(answer.id)
    try:
        await _send_answer(ws, web, asker, caller, conversation_id, answer.id)
    finally:
        answering.remove(answer.id)


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
