"""Users on both engines: unique names, validated roles, argon2 passwords, audit records."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from sophia.accounts import AccountService, Role, UserStatus
from sophia.errors import AuthError, Conflict, InvalidInput, NotFound
from sophia.store import Database, list_audit

PASSWORD = "correct horse battery staple"


@pytest.fixture
def accounts(database: Database) -> AccountService:
    # Cheap argon2 parameters keep the suite fast; production uses argon2-cffi's defaults.
    return AccountService(
        database, password_hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


async def test_created_users_are_listed_and_found_by_id_or_name(accounts: AccountService) -> None:
    alice = await accounts.create_user("alice", Role.ADMIN, email="Alice@Example.com")
    bob = await accounts.create_user("bob", "viewer")
    assert [u.name for u in await accounts.list_users()] == ["alice", "bob"]
    assert await accounts.get_user(alice.id) == alice == await accounts.get_user("alice")
    assert alice.email == "alice@example.com" and alice.status is UserStatus.ACTIVE
    assert bob.role is Role.VIEWER and not bob.has_password
    assert alice.created_at.tzinfo is not None


async def test_duplicate_names_and_emails_are_conflicts(accounts: AccountService) -> None:
    await accounts.create_user("alice", email="a@example.com")
    with pytest.raises(Conflict):
        await accounts.create_user("alice")
    with pytest.raises(Conflict):
        await accounts.create_user("alice2", email="A@example.com")
    assert len(await accounts.list_users()) == 1


@pytest.mark.parametrize(
    ("name", "role", "email", "message"),
    [
        ("alice", "superuser", None, "unknown role"),
        ("", "member", None, "user name"),
        ("al ice", "member", None, "user name"),
        ("-alice", "member", None, "user name"),
        ("x" * 65, "member", None, "user name"),
        ("alice", "member", "not-an-email", "email"),
    ],
)
async def test_bad_user_input_is_invalid_input(
    accounts: AccountService, name: str, role: str, email: str | None, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        await accounts.create_user(name, role, email=email)
    assert await accounts.list_users() == []


async def test_unknown_users_are_not_found(accounts: AccountService) -> None:
    with pytest.raises(NotFound, match="sophia users list"):
        await accounts.get_user("nobody")
    with pytest.raises(NotFound):
        await accounts.create_api_key(404, "k")


async def test_passwords_are_stored_as_argon2_hashes_and_verified(
    accounts: AccountService, database: Database
) -> None:
    user = await accounts.create_user("alice", Role.MEMBER, password=PASSWORD)
    assert user.has_password
    async with database.session() as session:
        stored = (await session.execute(sa.text("SELECT password_hash FROM users"))).scalar_one()
    assert stored.startswith("$argon2") and PASSWORD not in stored
    principal = await accounts.verify_password("alice", PASSWORD)
    assert (principal.user_id, principal.role, principal.key_id) == (user.id, Role.MEMBER, None)


@pytest.mark.parametrize(("name", "password"), [("alice", "wrong"), ("nobody", PASSWORD), ("bob", PASSWORD)])
async def test_wrong_passwords_unknown_users_and_passwordless_users_are_refused(
    accounts: AccountService, name: str, password: str
) -> None:
    await accounts.create_user("alice", password=PASSWORD)
    await accounts.create_user("bob")
    with pytest.raises(AuthError) as caught:
        await accounts.verify_password(name, password)
    assert PASSWORD not in caught.value.message


async def test_a_disabled_user_cannot_sign_in(accounts: AccountService) -> None:
    await accounts.create_user("alice", password=PASSWORD)
    await accounts.set_user_status("alice", UserStatus.DISABLED)
    with pytest.raises(AuthError):
        await accounts.verify_password("alice", PASSWORD)


async def test_role_changes_are_applied_and_audited(accounts: AccountService, database: Database) -> None:
    user = await accounts.create_user("alice", Role.PENDING)
    changed = await accounts.set_user_role("alice", Role.MEMBER)
    assert changed.role is Role.MEMBER and changed.updated_at >= user.updated_at
    with pytest.raises(InvalidInput):
        await accounts.set_user_role("alice", "owner")
    async with database.session() as session:
        actions = [e.action for e in await list_audit(session)]
    assert actions == ["user.role", "user.create"]
