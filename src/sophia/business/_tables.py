"""The `biz_*` tables, one per entity kind, built from the entities' fields so the two never drift apart.

Every table has an integer key, the entity's fields as columns, `deleted_at` for soft deletion, and a unique
(source, source_id) pair that upserts conflict on.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from sophia.business._entities import ENTITY_KINDS, BusinessRecord
from sophia.business._errors import UnknownBusinessKind
from sophia.store import Base, JsonType, UtcDateTime

__all__ = ["TABLES", "entity_columns", "table_for"]

_KEY_COLUMNS = frozenset({"source", "source_kind", "source_id"})
_LINK_INDEXES = ("account_id", "deal_id", "call_id")
"""Columns that joins within one source go through; each gets an index together with `source`."""


def _column_type(annotation: Any) -> tuple[sa.types.TypeEngine[Any], bool]:
    """The column type for a field's annotation and whether it may be NULL."""
    nullable = False
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        nullable = len(members) < len(typing.get_args(annotation))
        annotation = members[0]
    origin = typing.get_origin(annotation) or annotation
    mapping: dict[Any, sa.types.TypeEngine[Any]] = {
        str: sa.Text(),
        int: sa.Integer(),
        float: sa.Float(),
        bool: sa.Boolean(),
        datetime: UtcDateTime(),
        dict: JsonType,
        list: JsonType,
    }
    return mapping[origin], nullable


def entity_columns(entity_type: type[BusinessRecord]) -> list[str]:
    """The entity's field names, which are also its table's column names."""
    return [f.name for f in dataclasses.fields(entity_type)]


def _table(kind: str, entity_type: type[BusinessRecord]) -> sa.Table:
    hints = typing.get_type_hints(entity_type)
    columns: list[sa.Column[Any]] = [sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True)]
    for name in entity_columns(entity_type):
        if name in _KEY_COLUMNS:
            columns.append(sa.Column(name, sa.String(255), nullable=False))
            continue
        type_, nullable = _column_type(hints[name])
        columns.append(sa.Column(name, type_, nullable=nullable))
    columns.append(sa.Column("deleted_at", UtcDateTime(), nullable=True))
    name = f"biz_{kind}"
    extras: list[Any] = [sa.UniqueConstraint("source", "source_id", name=f"uq_{name}_source_id")]
    extras += [
        sa.Index(f"ix_{name}_{link}", "source", link)
        for link in _LINK_INDEXES
        if link in {c.name for c in columns}
    ]
    return sa.Table(name, Base.metadata, *columns, *extras)


TABLES: dict[str, sa.Table] = {kind: _table(kind, cls) for kind, cls in ENTITY_KINDS.items()}
"""Kind name ("accounts", "deals", ...) to its table."""


def table_for(kind: str) -> sa.Table:
    try:
        return TABLES[kind]
    except KeyError:
        raise UnknownBusinessKind(kind) from None
