"""Server-side sign-in sessions: a random cookie token stored hashed, revocable at sign-out or on disable."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from sophia.accounts import Role, UserRow, UserStatus
from sophia.server.web._tables import WebSessionRow
from sophia.store import Database, utcnow

__all__ = ["SessionStore", "WebSession"]

_REFRESH = timedelta(minutes=1)  # last_seen_at and the sliding expiry are written at most once a minute


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class WebSession:
    """The signed-in user behind a browser cookie, with the session's CSRF token."""

    token_hash: str
    user_id: int
    user_name: str
    role: Role
    csrf_token: str


class SessionStore:
    def __init__(
        self, database: Database, lifetime: timedelta, *, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self._db = database
        self._lifetime = lifetime
        self._clock = clock

    async def create(self, user_id: int, ip: str | None, user_agent: str | None) -> str:
        """A new session; returns the cookie token, which exists in clear only in the browser."""
        token = secrets.token_urlsafe(32)
        now = self._clock()
        async with self._db.transaction() as session:
            session.add(
                WebSessionRow(
                    token_hash=_digest(token),
                    user_id=user_id,
                    csrf_token=secrets.token_urlsafe(32),
                    created_at=now,
                    last_seen_at=now,
                    expires_at=now + self._lifetime,
                    ip=(ip or "")[:64] or None,
                    user_agent=(user_agent or "")[:255] or None,
                )
            )
        return token

    async def lookup(self, token: str) -> WebSession | None:
        """The live session of an active, approved user, or None; use slides the expiry forward."""
        if not token or len(token) > 128:
            return None
        now = self._clock()
        async with self._db.transaction() as session:
            found = (
                await session.execute(
                    sa.select(WebSessionRow, UserRow)
                    .join(UserRow, UserRow.id == WebSessionRow.user_id)
                    .where(WebSessionRow.token_hash == _digest(token))
                )
            ).first()
            if found is None:
                return None
            row, user = found
            if (
                row.expires_at <= now
                or user.status != UserStatus.ACTIVE.value
                or user.role == Role.PENDING.value
            ):
                return None
            if now - row.last_seen_at >= _REFRESH:
                row.last_seen_at, row.expires_at = now, now + self._lifetime
            return WebSession(row.token_hash, user.id, user.name, Role(user.role), row.csrf_token)

    async def revoke(self, token: str) -> None:
        async with self._db.transaction() as session:
            await session.execute(sa.delete(WebSessionRow).where(WebSessionRow.token_hash == _digest(token)))

    async def revoke_user(self, user_id: int) -> None:
        """Sign a user out everywhere (on disable or role change)."""
        async with self._db.transaction() as session:
            await session.execute(sa.delete(WebSessionRow).where(WebSessionRow.user_id == user_id))

    async def purge_expired(self) -> None:
        async with self._db.transaction() as session:
            await session.execute(sa.delete(WebSessionRow).where(WebSessionRow.expires_at <= self._clock()))
