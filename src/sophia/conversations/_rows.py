"""The conversations and their messages (migrations 0005 and 0007)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from sophia.store import Base, JsonType, UtcDateTime, utcnow

__all__ = ["ConversationRow", "MessageRow"]

MONEY = sa.Numeric(20, 10, asdecimal=False)


class ConversationRow(Base):
    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    model: Mapped[str] = mapped_column(sa.String(200), default="auto")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)


class MessageRow(Base):
    """One turn. An assistant turn starts 'pending' and ends 'done', 'stopped' or 'error'."""

    __tablename__ = "conversation_messages"
    __table_args__ = (
        sa.CheckConstraint("role IN ('user', 'assistant', 'system')", name="role"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(
        sa.ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(sa.String(16))
    content: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[str] = mapped_column(sa.String(16), default="done")
    requested_model: Mapped[str | None] = mapped_column(sa.String(200))
    model: Mapped[str | None] = mapped_column(sa.String(200))
    request_id: Mapped[str | None] = mapped_column(sa.String(64))
    input_tokens: Mapped[int] = mapped_column(sa.Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(sa.Integer, default=0)
    cost_usd: Mapped[float] = mapped_column(MONEY, default=0.0)
    error: Mapped[str | None] = mapped_column(sa.String(500))
    citations: Mapped[list[dict[str, Any]] | None] = mapped_column(JsonType)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
