"""Typed errors of the business model."""

from __future__ import annotations

from sophia.business._entities import ENTITY_KINDS
from sophia.errors import InvalidInput

__all__ = ["UnknownBusinessKind"]


class UnknownBusinessKind(InvalidInput):
    """A kind of business record that the model has no table for."""

    code = "unknown_business_kind"

    def __init__(self, kind: str) -> None:
        super().__init__(f"no business record kind {kind!r}; use one of: {', '.join(sorted(ENTITY_KINDS))}")
        self.kind = kind
