"""The chat page: conversations, a message streamed token by token over SSE, stop, regenerate, rename, delete."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Form, Request
from markupsafe import escape
from starlette.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from sophia.config import TASKS
from sophia.conversations import MessageInfo
from sophia.errors import InvalidInput
from sophia.gateway import Caller
from sophia.observability import request_id_var
from sophia.server.web._chat import Asker, Citation, Final, Held, Recalled, Started, Token
from sophia.server.web._guard import MODEL_USERS, signed_in
from sophia.server.web._memories import memory_of
from sophia.server.web._render import SECURITY_HEADERS, render, templates
from sophia.server.web._sessions import WebSession
from sophia.server.web._state import web_state

router = APIRouter(tags=["web"], include_in_schema=False)
Text = Annotated[str, Form(max_length=40_000)]
Me = signed_in(*MODEL_USERS)


def model_choices(request: Request) -> list[str]:
    catalog = web_state(request).services.gateway.catalog
    return ["auto", *(f"sophia/{task}" for task in TASKS), *(entry.name for entry in catalog)]


def _checked_model(request: Request, model: str) -> str:
    return model if model in model_choices(request) else "auto"


def sse_event(event: str, data: str) -> bytes:
    """One server-sent event; every line of `data` gets its own `data:` field, as the format requires."""
    lines = data.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return (f"event: {event}\n" + "".join(f"data: {line}\n" for line in lines) + "\n").encode()


def message_html(message: MessageInfo, conversation_id: str) -> str:
    """A finished answer with its saved citations, exactly as a reload of the page shows it."""
    return templates.get_template("_message.html").render(m=message, cid=conversation_id)


def citations_html(citations: tuple[Citation, ...]) -> str:
    return templates.get_template("_citations.html").render(citations=citations)


def approval_html(held: Held, me: WebSession) -> str:
    """The held call with approve and deny buttons; deciding it lets the streaming turn go on."""
    return templates.get_template("_approval.html").render(a=held.approval, me=me, csrf=me.csrf_token)


async def _chat_page(request: Request, me: WebSession, conversation_id: str | None) -> Response:
    web = web_state(request)
    conversations = await web.conversations.list_for(me.user_id)
    current = messages = None
    if conversation_id is not None:
        current = await web.conversations.get(me.user_id, conversation_id)
        messages = await web.conversations.messages(me.user_id, conversation_id)
    return render(
        request,
        "chat.html",
        conversations=conversations,
        current=current,
        messages=messages or [],
        models=model_choices(request),
    )


@router.get("/chat")
async def chat_home(request: Request, me: WebSession = Me) -> Response:
    return await _chat_page(request, me, None)


@router.post("/chat")
async def new_chat(
    request: Request, me: WebSession = Me, model: Text = "auto", content: Text = ""
) -> Response:
    web = web_state(request)
    conversation = await web.conversations.create(me.user_id, _checked_model(request, model))
    if content.strip():
        await web.conversations.add_turn(me.user_id, conversation.id, content, conversation.model)
    return RedirectResponse(f"/chat/{conversation.id}", status_code=303)


@router.get("/chat/{conversation_id}")
async def chat_page(request: Request, conversation_id: str, me: WebSession = Me) -> Response:
    return await _chat_page(request, me, conversation_id)


@router.post("/chat/{conversation_id}/messages")
async def send(
    request: Request, conversation_id: str, content: Text, me: WebSession = Me, model: Text = "auto"
) -> Response:
    web = web_state(request)
    question, answer = await web.conversations.add_turn(
        me.user_id, conversation_id, content, _checked_model(request, model)
    )
    return render(request, "_turn.html", question=question, answer=answer, cid=conversation_id)


@router.get("/chat/{conversation_id}/messages/{message_id}/stream")
async def stream(request: Request, conversation_id: str, message_id: int, me: WebSession = Me) -> Response:
    web = web_state(request)
    message = await web.conversations.message(me.user_id, message_id)
    caller = Caller(user_id=str(me.user_id))
    memory = await memory_of(request)
    asker = Asker(me.user_id, me.user_name, me.role)
    events = web.chat.answer(asker, message.id, caller, request_id_var.get() or "", memory)

    async def body() -> AsyncIterator[bytes]:
        async for event in events:
            if isinstance(event, Started):
                yield sse_event("meta", f"answering with <b>{escape(event.model)}</b>…")
            elif isinstance(event, Recalled):
                yield sse_event("citations", citations_html(event.citations))
            elif isinstance(event, Held):
                yield sse_event("approval", approval_html(event, me))
            elif isinstance(event, Token):
                yield sse_event("token", str(escape(event.text)))
            elif isinstance(event, Final):
                yield sse_event("done", message_html(event.message, conversation_id))

    headers = {**SECURITY_HEADERS, "x-accel-buffering": "no"}
    return StreamingResponse(body(), media_type="text/event-stream", headers=headers)


@router.post("/chat/messages/{message_id}/stop")
async def stop(request: Request, message_id: int, me: WebSession = Me) -> Response:
    web = web_state(request)
    await web.conversations.message(me.user_id, message_id)  # 404 unless it is the caller's
    web.chat.stop(message_id)
    return Response(status_code=204)


@router.post("/chat/messages/{message_id}/feedback")
async def feedback(
    request: Request, message_id: int, score: Annotated[float, Form(ge=0, le=1)], me: WebSession = Me
) -> Response:
    """Thumbs up (1) or down (0) on an answer: the router's quality estimate for its task and model learns."""
    web = web_state(request)
    message = await web.conversations.message(me.user_id, message_id)  # 404 unless it is the caller's
    if message.role != "assistant" or not message.request_id:
        raise InvalidInput("only an answer that reached a model can be rated")
    await web.services.gateway.record_outcome(
        message.request_id, score, source="feedback", user_id=str(me.user_id)
    )
    thanks = "👍 thanks" if score >= 0.5 else "👎 noted"
    return HTMLResponse(f'<span class="chip" role="status">{thanks}</span>')


@router.post("/chat/{conversation_id}/regenerate")
async def regenerate(request: Request, conversation_id: str, me: WebSession = Me) -> Response:
    await web_state(request).conversations.regenerate(me.user_id, conversation_id)
    return RedirectResponse(f"/chat/{conversation_id}", status_code=303)


@router.post("/chat/{conversation_id}/rename")
async def rename(request: Request, conversation_id: str, title: Text, me: WebSession = Me) -> Response:
    await web_state(request).conversations.rename(me.user_id, conversation_id, title)
    return RedirectResponse(f"/chat/{conversation_id}", status_code=303)


@router.post("/chat/{conversation_id}/delete")
async def delete(request: Request, conversation_id: str, me: WebSession = Me) -> Response:
    await web_state(request).conversations.delete(me.user_id, conversation_id)
    return RedirectResponse("/chat", status_code=303)
