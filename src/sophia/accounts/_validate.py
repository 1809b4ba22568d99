"""Input checks for accounts: each failure is an InvalidInput naming the field and what is allowed."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal, InvalidOperation

from sophia.accounts._models import ALL_SCOPES, Role, UserStatus
from sophia.errors import InvalidInput

_USER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")
_EMAIL = re.compile(r"[^@\s]{1,128}@[^@\s]{1,126}")
_SCOPE = re.compile(r"(\*|[a-z][a-z0-9_.-]{0,40}(:([a-z0-9_.-]{1,40}|\*))?)")
_MAX_BUDGET = Decimal("100000000")


def user_name(value: str) -> str:
    if not _USER_NAME.fullmatch(value):
        raise InvalidInput(
            f"user name {value!r} is not allowed; use 1-64 letters, digits, '_', '.', '@' or '-', "
            "starting with a letter or digit"
        )
    return value


def email(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not _EMAIL.fullmatch(value):
        raise InvalidInput(f"email {value!r} is not an email address")
    return value.lower()


def role(value: Role | str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise InvalidInput(
            f"unknown role {value!r}; use one of: {', '.join(r.value for r in Role)}"
        ) from None


def status(value: UserStatus | str) -> UserStatus:
    try:
        return UserStatus(value)
    except ValueError:
        allowed = ", ".join(s.value for s in UserStatus)
        raise InvalidInput(f"unknown user status {value!r}; use one of: {allowed}") from None


def key_name(value: str) -> str:
    value = value.strip()
    if not 1 <= len(value) <= 64:
        raise InvalidInput("an API key name must be 1 to 64 characters long")
    return value


def scopes(values: list[str] | tuple[str, ...] | None) -> list[str]:
    """Deduplicated, in the order given; none given means every scope the owner's role allows."""
    if values is None:
        return [ALL_SCOPES]
    out: list[str] = []
    for value in values:
        if not _SCOPE.fullmatch(value):
            raise InvalidInput(
                f"scope {value!r} is not allowed; use '*', 'family' or 'family:action' "
                "(lowercase; action may be '*')"
            )
        if value not in out:
            out.append(value)
    if not out:
        raise InvalidInput("an API key needs at least one scope; omit --scope to allow everything")
    return out


def expires_at(value: datetime | None, now: datetime) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise InvalidInput("expires_at must be timezone-aware (UTC)")
    if value <= now:
        raise InvalidInput("expires_at is in the past; give a future time")
    return value


def budget(value: Decimal | float | int | str | None) -> Decimal | None:
    if value is None:
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise InvalidInput(f"budget {value!r} is not a number of US dollars") from None
    if not amount.is_finite() or amount < 0 or amount >= _MAX_BUDGET:
        raise InvalidInput(f"budget {value!r} must be between 0 and {_MAX_BUDGET} US dollars")
    return amount
