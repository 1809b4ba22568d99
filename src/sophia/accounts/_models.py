"""What the accounts layer hands out: plain frozen records, never ORM objects tied to a session."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

__all__ = ["ALL_SCOPES", "ApiKeyInfo", "Principal", "Role", "UserInfo", "UserStatus"]

ALL_SCOPES = "*"
"""The scope a key gets when none are named: everything its owner's role allows."""


class Role(enum.StrEnum):
    ADMIN = "admin"
    MEMBER = "member"
    VIEWER = "viewer"
    PENDING = "pending"


class UserStatus(enum.StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"


@dataclass(frozen=True, slots=True)
class UserInfo:
    id: int
    name: str
    email: str | None
    role: Role
    status: UserStatus
    has_password: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ApiKeyInfo:
    """An API key's public facts; the key itself and its hash are never part of it."""

    id: int
    user_id: int
    user_name: str
    name: str
    prefix: str
    scopes: tuple[str, ...]
    expires_at: datetime | None
    budget_usd: Decimal | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the user behind a verified API key (key_id is None for a password sign-in)."""

    user_id: int
    user_name: str
    role: Role
    key_id: int | None
    scopes: tuple[str, ...]
    budget_usd: Decimal | None

    def allows(self, scope: str) -> bool:
        """True for an exact scope, `*`, or a `family:*` wildcard covering `family:action`."""
        if ALL_SCOPES in self.scopes or scope in self.scopes:
            return True
        family = scope.split(":", 1)[0]
        return f"{family}:*" in self.scopes
