"""Business: the unified model's `biz_*` tables (accounts, contacts, deals, activities, calls, ...) from every CRM.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_AT = sa.DateTime(timezone=True)


def _text(name: str, nullable: bool = True) -> sa.Column[Any]:
    return sa.Column(name, sa.Text(), nullable=nullable)


def _at(name: str, nullable: bool = True) -> sa.Column[Any]:
    return sa.Column(name, _AT, nullable=nullable)


def _flag(name: str) -> sa.Column[Any]:
    return sa.Column(name, sa.Boolean(), nullable=False)


def _number(name: str, type_: Any, nullable: bool = True) -> sa.Column[Any]:
    return sa.Column(name, type_, nullable=nullable)


def _json(name: str) -> sa.Column[Any]:
    return sa.Column(name, _JSON, nullable=False)


def _tables() -> dict[str, tuple[list[sa.Column[Any]], tuple[str, ...]]]:
    """Fresh column objects on every call (a column belongs to one table)."""
    return {
        "reps": ([_text("name", False), _text("email"), _text("title"), _flag("active")], ()),
        "accounts": (
            [_text("name", False), _text("domain"), _text("industry"), _text("owner_id"),
             _number("employees", sa.Integer()), _number("annual_revenue", sa.Float()), _at("created_at"),
             _at("churned_at"), _json("properties")],
            (),
        ),
        "contacts": (
            [_text("name", False), _text("email"), _text("account_id"), _text("title"), _flag("is_champion"),
             _at("left_at"), _at("created_at"), _json("properties")],
            ("account_id",),
        ),
        "pipeline_stages": (
            [_text("pipeline", False), _text("stage", False), _text("label", False), _number("probability", sa.Float()),
             _number("display_order", sa.Integer(), False), _flag("is_closed"), _flag("is_won")],
            (),
        ),
        "deals": (
            [_text("name", False), _text("account_id"), _text("owner_id"), _text("pipeline"), _text("stage"),
             _text("stage_label"), _number("probability", sa.Float()), _number("amount", sa.Float()), _text("currency"),
             _at("close_date"), _at("created_at"), _flag("is_closed"), _flag("is_won"), _text("lost_reason"),
             _json("properties")],
            ("account_id",),
        ),
        "deal_stages": (
            [_text("deal_id", False), _text("stage", False), _text("stage_label"), _at("entered_at", False)],
            ("deal_id",),
        ),
        "activities": (
            [_text("kind", False), _at("occurred_at", False), _text("subject"), _text("body"), _text("account_id"),
             _text("contact_id"), _text("deal_id"), _text("owner_id"), _text("priority"), _text("status"),
             _json("emails"), _json("properties")],
            ("account_id", "deal_id"),
        ),
        "calls": (
            [_text("title", False), _at("started_at", False), _number("duration_s", sa.Float(), False),
             _text("owner_id"), _text("account_id"), _json("participants"), _json("stats"), _json("trackers")],
            ("account_id",),
        ),
        "call_sentences": (
            [_text("call_id", False), _number("position", sa.Integer(), False), _text("speaker_id", False),
             _text("speaker_role", False), _number("start_ms", sa.Integer(), False),
             _number("end_ms", sa.Integer(), False), _text("text", False)],
            ("call_id",),
        ),
        "work_items": (
            [_text("title", False), _text("state"), _text("assignee"), _text("project"), _at("due_at"),
             _at("completed_at"), _at("created_at")],
            (),
        ),
        "usage_weeks": (
            [_text("account_id", False), _at("week_start", False), _number("logins", sa.Integer(), False),
             _number("active_users", sa.Integer(), False)],
            ("account_id",),
        ),
    }  # fmt: skip


def upgrade() -> None:
    for kind, (columns, links) in _tables().items():
        name = f"biz_{kind}"
        op.create_table(
            name,
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("source", sa.String(length=255), nullable=False),
            sa.Column("source_kind", sa.String(length=255), nullable=False),
            sa.Column("source_id", sa.String(length=255), nullable=False),
            sa.Column("source_url", sa.Text(), nullable=True),
            sa.Column("updated_at", _AT, nullable=False),
            *columns,
            sa.Column("deleted_at", _AT, nullable=True),
            sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
            sa.UniqueConstraint("source", "source_id", name=f"uq_{name}_source_id"),
        )
        for link in links:
            op.create_index(f"ix_{name}_{link}", name, ["source", link], unique=False)


def downgrade() -> None:
    for kind, (_columns, links) in reversed(_tables().items()):
        name = f"biz_{kind}"
        for link in links:
            op.drop_index(f"ix_{name}_{link}", table_name=name)
        op.drop_table(name)
