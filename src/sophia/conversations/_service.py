"""Persisted chats, always read and written through their owner: another user's ids look like missing ones."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from sophia.conversations._rows import ConversationRow, MessageRow
from sophia.errors import InvalidInput, NotFound
from sophia.store import Database, utcnow

__all__ = ["Citation", "ConversationInfo", "ConversationService", "MessageInfo"]

NEW_TITLE = "New chat"
MAX_MESSAGE_CHARS = 32_000
HISTORY_CHARS = 6_000  # the bundled local model has a 2,048-token window; keep the newest turns that fit


@dataclass(frozen=True, slots=True)
class ConversationInfo:
    id: str
    user_id: int
    title: str
    model: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Citation:
    """What an answer was given: `ref` is what the model cites ("M1"); a memory's `id` opens it on the memory page."""

    ref: str
    id: str | None
    title: str
    kind: str

    @classmethod
    def of(cls, data: dict[str, Any]) -> Citation:
        ident = data.get("id")
        return cls(
            str(data.get("ref", "")),
            str(ident) if ident else None,
            str(data.get("title", "")),
            str(data.get("kind", "")),
        )

    def to_dict(self) -> dict[str, Any]:
        return {"ref": self.ref, "id": self.id, "title": self.title, "kind": self.kind}


@dataclass(frozen=True, slots=True)
class MessageInfo:
    id: int
    conversation_id: str
    role: str
    content: str
    status: str
    requested_model: str | None
    model: str | None
    request_id: str | None
    input_tokens: int
    output_tokens: int
    cost_usd: float
    error: str | None
    created_at: datetime
    citations: tuple[Citation, ...] = ()


def _conversation(row: ConversationRow) -> ConversationInfo:
    return ConversationInfo(row.id, row.user_id, row.title, row.model, row.created_at, row.updated_at)


def _message(row: MessageRow) -> MessageInfo:
    return MessageInfo(
        row.id,
        row.conversation_id,
        row.role,
        row.content,
        row.status,
        row.requested_model,
        row.model,
        row.request_id,
        row.input_tokens,
        row.output_tokens,
        float(row.cost_usd or 0.0),
        row.error,
        row.created_at,
        tuple(Citation.of(c) for c in row.citations or () if isinstance(c, dict)),
    )


def _missing(what: str, ident: object) -> NotFound:
    return NotFound(f"no {what} {ident}; it may have been deleted, or it belongs to someone else")


def _check_text(text: str) -> str:
    text = text.strip()
    if not text:
        raise InvalidInput("content: the message is empty; type something to send")
    if len(text) > MAX_MESSAGE_CHARS:
        raise InvalidInput(
            f"content: the message has {len(text)} characters; the limit is {MAX_MESSAGE_CHARS}"
        )
    return text


def _title_from(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= 60 else line[:59].rstrip() + "…"


class ConversationService:
    """Every method takes the owner's user id and filters by it, so no route can reach another user's chats."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def list_for(self, owner: int, limit: int = 200) -> list[ConversationInfo]:
        query = (
            sa.select(ConversationRow)
            .where(ConversationRow.user_id == owner)
            .order_by(ConversationRow.updated_at.desc())
            .limit(limit)
        )
        async with self._db.session() as session:
            return [_conversation(r) for r in (await session.scalars(query)).all()]

    async def create(self, owner: int, model: str = "auto") -> ConversationInfo:
        now = utcnow()
        row = ConversationRow(
            id=secrets.token_hex(8),
            user_id=owner,
            title=NEW_TITLE,
            model=model,
            created_at=now,
            updated_at=now,
        )
        async with self._db.transaction() as session:
            session.add(row)
        return _conversation(row)

    async def get(self, owner: int, conversation_id: str) -> ConversationInfo:
        async with self._db.session() as session:
            return _conversation(await self._owned(session, owner, conversation_id))

    async def messages(self, owner: int, conversation_id: str) -> list[MessageInfo]:
        async with self._db.session() as session:
            await self._owned(session, owner, conversation_id)
            query = (
                sa.select(MessageRow)
                .where(MessageRow.conversation_id == conversation_id)
                .order_by(MessageRow.id)
            )
            return [_message(r) for r in (await session.scalars(query)).all()]

    async def rename(self, owner: int, conversation_id: str, title: str) -> ConversationInfo:
        title = " ".join(title.split())
        if not title or len(title) > 200:
            raise InvalidInput("title: give a title of 1 to 200 characters")
        async with self._db.transaction() as session:
            row = await self._owned(session, owner, conversation_id)
            row.title = title
        return _conversation(row)

    async def delete(self, owner: int, conversation_id: str) -> None:
        async with self._db.transaction() as session:
            row = await self._owned(session, owner, conversation_id)
            await session.execute(sa.delete(MessageRow).where(MessageRow.conversation_id == row.id))
            await session.delete(row)

    async def add_turn(
        self, owner: int, conversation_id: str, text: str, model: str
    ) -> tuple[MessageInfo, MessageInfo]:
        """Store the user's message and a pending assistant message that a stream will fill."""
        text = _check_text(text)
        async with self._db.transaction() as session:
            conversation = await self._owned(session, owner, conversation_id)
            if conversation.title == NEW_TITLE:
                conversation.title = _title_from(text)
            conversation.model, conversation.updated_at = model, utcnow()
            question = MessageRow(conversation_id=conversation.id, role="user", content=text, status="done")
            answer = MessageRow(
                conversation_id=conversation.id, role="assistant", status="pending", requested_model=model
            )
            session.add_all([question, answer])
            await session.flush()
            return _message(question), _message(answer)

    async def regenerate(self, owner: int, conversation_id: str) -> MessageInfo:
        """Replace the last answer with a new pending one (its ledger row stays: it was paid for)."""
        async with self._db.transaction() as session:
            conversation = await self._owned(session, owner, conversation_id)
            last = await session.scalar(
                sa.select(MessageRow)
                .where(MessageRow.conversation_id == conversation.id)
                .order_by(MessageRow.id.desc())
            )
            if last is None:
                raise InvalidInput("this conversation has no message to answer again; send one first")
            if last.role == "assistant":
                if last.status in ("pending", "streaming"):
                    raise InvalidInput("an answer is still being written; stop it before regenerating")
                await session.delete(last)
            answer = MessageRow(
                conversation_id=conversation.id,
                role="assistant",
                status="pending",
                requested_model=conversation.model,
            )
            session.add(answer)
            conversation.updated_at = utcnow()
            await session.flush()
            return _message(answer)

    async def message(self, owner: int, message_id: int) -> MessageInfo:
        async with self._db.session() as session:
            return _message(await self._owned_message(session, owner, message_id))

    async def claim(self, owner: int, message_id: int) -> tuple[MessageInfo, list[dict[str, Any]]] | None:
        """Move a pending answer to 'streaming' and return it with the history to send; None if already taken."""
        async with self._db.transaction() as session:
            row = await self._owned_message(session, owner, message_id)
            claimed = await session.execute(
                sa.update(MessageRow)
                .where(MessageRow.id == row.id, MessageRow.status == "pending")
                .values(status="streaming")
                .execution_options(synchronize_session=False)
            )
            if getattr(claimed, "rowcount", 0) != 1:
                return None
            earlier = (
                await session.scalars(
                    sa.select(MessageRow)
                    .where(MessageRow.conversation_id == row.conversation_id, MessageRow.id < row.id)
                    .order_by(MessageRow.id.desc())
                )
            ).all()
            return _message(row), _history(earlier)

    async def finish(self, message_id: int, **fields: Any) -> MessageInfo:
        """Record how an answer ended: content, status, model, request id, tokens, cost, error, citations."""
        async with self._db.transaction() as session:
            row = await session.get(MessageRow, message_id)
            if row is None:
                raise _missing("message", message_id)
            for name, value in fields.items():
                setattr(row, name, value)
            return _message(row)

    async def _owned(self, session: AsyncSession, owner: int, conversation_id: str) -> ConversationRow:
        row = await session.scalar(
            sa.select(ConversationRow).where(
                ConversationRow.id == conversation_id, ConversationRow.user_id == owner
            )
        )
        if row is None:
            raise _missing("conversation", conversation_id)
        return row

    async def _owned_message(self, session: AsyncSession, owner: int, message_id: int) -> MessageRow:
        row = await session.scalar(
            sa.select(MessageRow)
            .join(ConversationRow, ConversationRow.id == MessageRow.conversation_id)
            .where(MessageRow.id == message_id, ConversationRow.user_id == owner)
        )
        if row is None:
            raise _missing("message", message_id)
        return row


def _history(newest_first: Any) -> list[dict[str, Any]]:
    """The newest finished turns that fit HISTORY_CHARS, oldest first, as chat messages."""
    picked: list[dict[str, Any]] = []
    used = 0
    for row in newest_first:
        if row.role == "assistant" and (row.status != "done" or not row.content):
            continue
        used += len(row.content)
        if picked and used > HISTORY_CHARS:
            break
        picked.append({"role": row.role, "content": row.content[-HISTORY_CHARS:]})
    picked.reverse()
    return picked
