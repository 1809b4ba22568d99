"""Users and API keys: create, list, revoke, and verify a presented key or password."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cached_property
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import exc
from sqlalchemy.ext.asyncio import AsyncSession

from sophia.accounts import _validate as check
from sophia.accounts._keys import PREFIX_LENGTH, generate_key, hash_key, hashes_match, parse_prefix
from sophia.accounts._models import ApiKeyInfo, Principal, Role, UserInfo, UserStatus
from sophia.accounts._rows import ApiKeyRow, UserRow
from sophia.errors import AuthError, Conflict, InvalidInput, NotFound
from sophia.store import Database, record_audit, utcnow

__all__ = ["AccountService"]

_LAST_USED_RESOLUTION = timedelta(minutes=1)  # fewer writes: last_used_at is refreshed at most once a minute
_PREFIX_ATTEMPTS = 3
_UNKNOWN_KEY_HASH = "0" * 64
_REFUSED = "the API key is unknown, malformed, revoked or expired; create a new one with `sophia keys create`"


def _user_info(row: UserRow) -> UserInfo:
    return UserInfo(
        id=row.id,
        name=row.name,
        email=row.email,
        role=Role(row.role),
        status=UserStatus(row.status),
        has_password=row.password_hash is not None,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _key_info(row: ApiKeyRow) -> ApiKeyInfo:
    return ApiKeyInfo(
        id=row.id,
        user_id=row.user_id,
        user_name=row.user.name,
        name=row.name,
        prefix=row.prefix,
        scopes=tuple(row.scopes),
        expires_at=row.expires_at,
        budget_usd=row.budget_usd,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


def _actor(actor: Principal | None) -> dict[str, Any]:
    return {
        "actor_user_id": actor.user_id if actor else None,
        "actor_key_id": actor.key_id if actor else None,
    }


class AccountService:
    """The accounts layer's entry point; every change writes an audit record in the same transaction."""

    def __init__(
        self,
        db: Database,
        *,
        clock: Callable[[], datetime] = utcnow,
        password_hasher: PasswordHasher | None = None,
    ) -> None:
        self._db = db
        self._clock = clock
        self._hasher = password_hasher or PasswordHasher()

    @cached_property
    def _dummy_password_hash(self) -> str:
        return self._hasher.hash("sophia-no-such-user")

    # users

    async def create_user(
        self,
        name: str,
        role: Role | str = Role.MEMBER,
        email: str | None = None,
        password: str | None = None,
        *,
        actor: Principal | None = None,
    ) -> UserInfo:
        """A new active user; the password, if any, is stored only as an argon2 hash."""
        row = UserRow(
            name=check.user_name(name),
            email=check.email(email),
            role=check.role(role).value,
            status=UserStatus.ACTIVE.value,
            password_hash=self._hasher.hash(password) if password else None,
            created_at=self._clock(),
            updated_at=self._clock(),
        )
        try:
            async with self._db.transaction() as session:
                session.add(row)
                await session.flush()
                record_audit(
                    session,
                    "user.create",
                    f"user:{row.id}",
                    detail={"name": row.name, "role": row.role},
                    **_actor(actor),
                )
        except exc.IntegrityError:
            raise Conflict(f"a user named {name!r} or with email {email!r} already exists") from None
        return _user_info(row)

    async def list_users(self) -> list[UserInfo]:
        async with self._db.session() as session:
            rows = (await session.scalars(sa.select(UserRow).order_by(UserRow.id))).all()
            return [_user_info(row) for row in rows]

    async def get_user(self, user: int | str) -> UserInfo:
        """By id (int) or name (str)."""
        async with self._db.session() as session:
            return _user_info(await self._user_row(session, user))

    async def set_user_status(
        self, user: int | str, status: UserStatus | str, *, actor: Principal | None = None
    ) -> UserInfo:
        """Disabling a user refuses every one of their keys at once, without revoking them."""
        new_status = check.status(status)
        async with self._db.transaction() as session:
            row = await self._user_row(session, user)
            row.status, row.updated_at = new_status.value, self._clock()
            record_audit(
                session, "user.status", f"user:{row.id}", detail={"status": row.status}, **_actor(actor)
            )
        return _user_info(row)

    async def set_user_role(
        self, user: int | str, role: Role | str, *, actor: Principal | None = None
    ) -> UserInfo:
        new_role = check.role(role)
        async with self._db.transaction() as session:
            row = await self._user_row(session, user)
            row.role, row.updated_at = new_role.value, self._clock()
            record_audit(session, "user.role", f"user:{row.id}", detail={"role": row.role}, **_actor(actor))
        return _user_info(row)

    async def verify_password(self, name: str, password: str) -> Principal:
        """The user signing in with a password; AuthError for any mismatch, without saying which part."""
        async with self._db.session() as session:
            row = await session.scalar(sa.select(UserRow).where(UserRow.name == name))
        stored = row.password_hash if row is not None and row.password_hash else None
        try:
            self._hasher.verify(stored or self._dummy_password_hash, password)
            matched = stored is not None
        except (VerificationError, InvalidHashError):
            matched = False
        if row is None or not matched or row.status != UserStatus.ACTIVE.value:
            raise AuthError("the user name or password is wrong, or the account is disabled")
        return Principal(row.id, row.name, Role(row.role), None, ("*",), None)

    async def _user_row(self, session: AsyncSession, user: int | str) -> UserRow:
        column = UserRow.id if isinstance(user, int) else UserRow.name
        row = await session.scalar(sa.select(UserRow).where(column == user))
        if row is None:
            raise NotFound(f"no user {user!r}; list users with `sophia users list`")
        return row

    # API keys

    async def create_api_key(
        self,
        user_id: int,
        name: str = "default",
        scopes: list[str] | tuple[str, ...] | None = None,
        expires_at: datetime | None = None,
        budget_usd: Decimal | float | int | str | None = None,
        *,
        actor: Principal | None = None,
    ) -> tuple[ApiKeyInfo, str]:
        """A new key and its plaintext, which is returned this once and stored only as a SHA-256 hash."""
        fields: dict[str, Any] = {
            "name": check.key_name(name),
            "scopes": check.scopes(scopes),
            "expires_at": check.expires_at(expires_at, self._clock()),
            "budget_usd": check.budget(budget_usd),
        }
        for attempt in range(_PREFIX_ATTEMPTS):
            try:
                return await self._insert_key(user_id, fields, actor)
            except exc.IntegrityError:  # a prefix collision: 36**8 makes a second one vanishingly rare
                if attempt == _PREFIX_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    async def _insert_key(
        self, user_id: int, fields: dict[str, Any], actor: Principal | None
    ) -> tuple[ApiKeyInfo, str]:
        prefix, plaintext = generate_key()
        async with self._db.transaction() as session:
            user = await self._user_row(session, user_id)
            if user.status != UserStatus.ACTIVE.value:
                raise InvalidInput(f"user {user.name!r} is disabled; enable them before creating keys")
            row = ApiKeyRow(
                user=user, prefix=prefix, key_hash=hash_key(plaintext), created_at=self._clock(), **fields
            )
            session.add(row)
            await session.flush()
            detail = {
                "name": row.name,
                "prefix": prefix,
                "scopes": row.scopes,
                "expires_at": row.expires_at.isoformat() if row.expires_at else None,
                "budget_usd": str(row.budget_usd) if row.budget_usd is not None else None,
            }
            record_audit(session, "api_key.create", f"api_key:{row.id}", detail=detail, **_actor(actor))
        return _key_info(row), plaintext

    async def list_api_keys(self, user_id: int | None = None) -> list[ApiKeyInfo]:
        query = sa.select(ApiKeyRow).order_by(ApiKeyRow.id)
        if user_id is not None:
            query = query.where(ApiKeyRow.user_id == user_id)
        async with self._db.session() as session:
            return [_key_info(row) for row in (await session.scalars(query)).all()]

    async def get_api_key(self, key: int | str) -> ApiKeyInfo:
        """By id (int) or prefix (str; `sph_<prefix>` and a whole key are accepted too)."""
        async with self._db.session() as session:
            return _key_info(await self._key_row(session, key))

    async def revoke_api_key(self, key_id: int | str, *, actor: Principal | None = None) -> ApiKeyInfo:
        """Refuse the key from now on; revoking twice keeps the first time."""
        async with self._db.transaction() as session:
            row = await self._key_row(session, key_id)
            if row.revoked_at is None:
                row.revoked_at = self._clock()
                record_audit(
                    session,
                    "api_key.revoke",
                    f"api_key:{row.id}",
                    detail={"prefix": row.prefix},
                    **_actor(actor),
                )
        return _key_info(row)

    async def _key_row(self, session: AsyncSession, key: int | str) -> ApiKeyRow:
        if isinstance(key, int):
            row = await session.scalar(sa.select(ApiKeyRow).where(ApiKeyRow.id == key))
        else:
            prefix = parse_prefix(key) or key.removeprefix("sph_")[:PREFIX_LENGTH]
            row = await session.scalar(sa.select(ApiKeyRow).where(ApiKeyRow.prefix == prefix))
        if row is None:
            raise NotFound(f"no API key {key!r}; list keys with `sophia keys list`")
        return row

    async def verify_api_key(self, plaintext: str) -> Principal:
        """The caller behind a presented key; AuthError unless it is a live key of an active user."""
        prefix = parse_prefix(plaintext) if isinstance(plaintext, str) else None
        if prefix is None:
            raise AuthError(_REFUSED)
        now = self._clock()
        async with self._db.transaction() as session:
            row = await session.scalar(sa.select(ApiKeyRow).where(ApiKeyRow.prefix == prefix))
            matched = hashes_match(row.key_hash if row else _UNKNOWN_KEY_HASH, hash_key(plaintext))
            if row is None or not matched or row.revoked_at is not None:
                raise AuthError(_REFUSED)
            if row.expires_at is not None and row.expires_at <= now:
                raise AuthError(_REFUSED)
            if row.user.status != UserStatus.ACTIVE.value:
                raise AuthError("the API key's owner is disabled; ask an admin to enable the account")
            if row.last_used_at is None or now - row.last_used_at >= _LAST_USED_RESOLUTION:
                row.last_used_at = now
            return Principal(
                row.user_id, row.user.name, Role(row.user.role), row.id, tuple(row.scopes), row.budget_usd
            )
