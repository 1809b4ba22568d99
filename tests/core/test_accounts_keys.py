"""API keys on both engines: verified by hash only, refused when wrong, malformed, revoked, expired or disabled."""

from __future__ import annotations

import types
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sophia.accounts
from sophia.accounts import KEY_PATTERN, AccountService, Principal, Role, UserStatus, hash_key
from sophia.errors import AuthError, InvalidInput, NotFound
from sophia.store import Database, list_audit, utcnow


class Clock:
    """A clock the test moves by hand, so expiry needs no sleeping."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def accounts(database: Database, clock: Clock) -> AccountService:
    return AccountService(database, clock=clock)


async def _user_and_key(accounts: AccountService, **key_options: object) -> tuple[int, int, str]:
    user = await accounts.create_user("alice", Role.MEMBER)
    info, plaintext = await accounts.create_api_key(user.id, "laptop", **key_options)  # type: ignore[arg-type]
    return user.id, info.id, plaintext


def test_public_names_are_exactly_all() -> None:
    public = {
        name
        for name, value in vars(sophia.accounts).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public == set(sophia.accounts.__all__)


async def test_a_new_key_verifies_to_its_owner_scopes_and_budget(accounts: AccountService) -> None:
    user = await accounts.create_user("alice", Role.ADMIN)
    info, plaintext = await accounts.create_api_key(
        user.id, "ci", scopes=["chat:write", "memory:*"], budget_usd="12.50"
    )
    assert KEY_PATTERN.fullmatch(plaintext) and plaintext.startswith(f"sph_{info.prefix}_")
    assert len(plaintext.split("_", 2)[2]) >= 32
    principal = await accounts.verify_api_key(plaintext)
    assert principal == Principal(
        user.id, "alice", Role.ADMIN, info.id, ("chat:write", "memory:*"), Decimal("12.5")
    )
    assert principal.allows("memory:recall") and principal.allows("chat:write")
    assert not principal.allows("chat:read") and not principal.allows("admin")


async def test_a_key_without_scopes_allows_everything(accounts: AccountService) -> None:
    _, _, plaintext = await _user_and_key(accounts)
    principal = await accounts.verify_api_key(plaintext)
    assert principal.scopes == ("*",) and principal.allows("anything:at-all")


async def _every_stored_value(db: Database) -> list[str]:
    async with db.engine.connect() as connection:
        tables = await connection.run_sync(lambda c: sa.inspect(c).get_table_names())
        values: list[str] = []
        for table in tables:
            rows = (await connection.execute(sa.text(f'SELECT * FROM "{table}"'))).all()
            values += [str(value) for row in rows for value in row]
    return values


async def test_the_database_never_holds_the_plaintext_key(
    accounts: AccountService, database: Database
) -> None:
    _, key_id, plaintext = await _user_and_key(accounts, scopes=["chat:write"])
    await accounts.verify_api_key(plaintext)
    await accounts.revoke_api_key(key_id)
    secret_part = plaintext.split("_", 2)[2]
    values = await _every_stored_value(database)
    assert hash_key(plaintext) in values  # the scan does see the api_keys row
    assert not [v for v in values if plaintext in v or secret_part in v]


async def test_a_revoked_key_is_refused(accounts: AccountService) -> None:
    _, key_id, plaintext = await _user_and_key(accounts)
    await accounts.verify_api_key(plaintext)
    info = await accounts.revoke_api_key(key_id)
    assert info.revoked
    with pytest.raises(AuthError):
        await accounts.verify_api_key(plaintext)


async def test_an_expired_key_is_refused(accounts: AccountService, clock: Clock) -> None:
    _, _, plaintext = await _user_and_key(accounts, expires_at=clock.now + timedelta(hours=1))
    clock.now += timedelta(minutes=59)
    await accounts.verify_api_key(plaintext)
    clock.now += timedelta(minutes=1)
    with pytest.raises(AuthError):
        await accounts.verify_api_key(plaintext)


async def test_a_disabled_users_keys_are_refused_until_enabled(accounts: AccountService) -> None:
    user_id, _, plaintext = await _user_and_key(accounts)
    await accounts.set_user_status(user_id, UserStatus.DISABLED)
    with pytest.raises(AuthError, match="disabled"):
        await accounts.verify_api_key(plaintext)
    await accounts.set_user_status(user_id, UserStatus.ACTIVE)
    assert (await accounts.verify_api_key(plaintext)).user_id == user_id


async def test_a_key_with_a_real_prefix_but_wrong_secret_is_refused(accounts: AccountService) -> None:
    _, _, plaintext = await _user_and_key(accounts)
    last = plaintext[-1]
    tampered = plaintext[:-1] + ("A" if last != "A" else "B")
    with pytest.raises(AuthError):
        await accounts.verify_api_key(tampered)


@pytest.mark.parametrize(
    "presented",
    [
        "",
        "sph_",
        "sk-abcdefghijklmnopqrstuvwxyz0123456789",
        "sph_abcdefgh",
        "sph_abcdefgh_short",
        "sph_ABCDEFGH_" + "a" * 40,
        "sph_abcdefg_" + "a" * 40,
        "sph_abcdefgh_" + "a" * 40 + "!",
        " sph_abcdefgh_" + "a" * 40,
        "Bearer sph_abcdefgh_" + "a" * 40,
        "sph_abcdefgh_" + "a" * 4000,
        "sph_abcdefgh_" + "\x00" * 40,
    ],
)
async def test_malformed_keys_are_refused(accounts: AccountService, presented: str) -> None:
    await _user_and_key(accounts)
    with pytest.raises(AuthError):
        await accounts.verify_api_key(presented)


_garbage = st.one_of(
    st.text(max_size=200),
    st.from_regex(KEY_PATTERN, fullmatch=True),
    st.builds(lambda s: "sph_" + s, st.text(max_size=80)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(presented=_garbage)
async def test_garbage_never_verifies_and_only_raises_auth_error(
    accounts: AccountService, presented: str
) -> None:
    with pytest.raises(AuthError):
        await accounts.verify_api_key(presented)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
async def test_any_single_character_change_to_a_real_key_is_refused(
    accounts: AccountService, data: st.DataObject
) -> None:
    existing = await accounts.list_api_keys()
    if not existing:
        await _user_and_key(accounts)
    user = (await accounts.list_users())[0]
    _, plaintext = await accounts.create_api_key(user.id, "probe")
    index = data.draw(st.integers(0, len(plaintext) - 1))
    replacement = data.draw(st.characters(codec="ascii").filter(lambda c: c != plaintext[index]))
    tampered = plaintext[:index] + replacement + plaintext[index + 1 :]
    with pytest.raises(AuthError):
        await accounts.verify_api_key(tampered)


async def test_last_used_is_recorded_at_most_once_a_minute(accounts: AccountService, clock: Clock) -> None:
    _, key_id, plaintext = await _user_and_key(accounts)
    first = clock.now
    await accounts.verify_api_key(plaintext)
    clock.now += timedelta(seconds=30)
    await accounts.verify_api_key(plaintext)
    assert (await accounts.get_api_key(key_id)).last_used_at == first
    clock.now += timedelta(seconds=31)
    await accounts.verify_api_key(plaintext)
    assert (await accounts.get_api_key(key_id)).last_used_at == clock.now


async def test_keys_are_found_by_id_prefix_or_sph_prefix(accounts: AccountService) -> None:
    _, key_id, plaintext = await _user_and_key(accounts)
    prefix = plaintext[4:12]
    for handle in (key_id, prefix, f"sph_{prefix}", plaintext):
        assert (await accounts.get_api_key(handle)).id == key_id
    with pytest.raises(NotFound):
        await accounts.get_api_key("zzzzzzzz")


async def test_revoking_twice_keeps_the_first_time_and_one_audit_record(
    accounts: AccountService, clock: Clock, database: Database
) -> None:
    _, key_id, _ = await _user_and_key(accounts)
    first = (await accounts.revoke_api_key(key_id)).revoked_at
    clock.now += timedelta(hours=1)
    assert (await accounts.revoke_api_key(key_id)).revoked_at == first
    async with database.session() as session:
        assert len(await list_audit(session, action="api_key.revoke")) == 1


async def test_create_and_revoke_are_audited_with_the_actor(
    accounts: AccountService, database: Database
) -> None:
    admin = await accounts.create_user("root", Role.ADMIN)
    _, admin_key = await accounts.create_api_key(admin.id, "admin")
    actor = await accounts.verify_api_key(admin_key)
    user = await accounts.create_user("bob", actor=actor)
    info, _ = await accounts.create_api_key(user.id, "bob-cli", actor=actor)
    await accounts.revoke_api_key(info.id, actor=actor)
    async with database.session() as session:
        entries = await list_audit(session)
    by_action = {(e.action, e.target): e for e in entries}
    assert set(by_action) >= {
        ("user.create", f"user:{user.id}"),
        ("api_key.create", f"api_key:{info.id}"),
        ("api_key.revoke", f"api_key:{info.id}"),
    }
    revoke = by_action[("api_key.revoke", f"api_key:{info.id}")]
    assert (revoke.actor_user_id, revoke.actor_key_id) == (admin.id, actor.key_id)
    assert by_action[("api_key.create", f"api_key:{info.id}")].detail["prefix"] == info.prefix


async def test_list_api_keys_filters_by_user_and_never_exposes_the_hash(accounts: AccountService) -> None:
    alice = await accounts.create_user("alice")
    bob = await accounts.create_user("bob")
    await accounts.create_api_key(alice.id, "a1")
    await accounts.create_api_key(bob.id, "b1")
    await accounts.create_api_key(bob.id, "b2")
    assert [k.name for k in await accounts.list_api_keys(bob.id)] == ["b1", "b2"]
    keys = await accounts.list_api_keys()
    assert [k.user_name for k in keys] == ["alice", "bob", "bob"]
    assert not any(hasattr(k, "key_hash") for k in keys)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"scopes": ["Chat Write"]}, "scope"),
        ({"scopes": []}, "at least one scope"),
        ({"budget_usd": "-1"}, "budget"),
        ({"budget_usd": "lots"}, "budget"),
        ({"budget_usd": "NaN"}, "budget"),
    ],
)
async def test_bad_key_options_are_invalid_input(
    accounts: AccountService, options: dict[str, object], message: str
) -> None:
    user = await accounts.create_user("alice")
    with pytest.raises(InvalidInput, match=message):
        await accounts.create_api_key(user.id, "k", **options)  # type: ignore[arg-type]
    assert await accounts.list_api_keys() == []


async def test_a_key_cannot_expire_in_the_past(accounts: AccountService, clock: Clock) -> None:
    user = await accounts.create_user("alice")
    with pytest.raises(InvalidInput, match="past"):
        await accounts.create_api_key(user.id, "k", expires_at=clock.now - timedelta(seconds=1))


async def test_a_disabled_user_gets_no_new_keys(accounts: AccountService) -> None:
    user = await accounts.create_user("alice")
    await accounts.set_user_status(user.id, "disabled")
    with pytest.raises(InvalidInput, match="disabled"):
        await accounts.create_api_key(user.id, "k")


async def test_deleting_a_user_deletes_their_keys(accounts: AccountService, database: Database) -> None:
    user_id, key_id, plaintext = await _user_and_key(accounts)
    async with database.transaction() as session:
        await session.execute(sa.text("DELETE FROM users WHERE id = :id"), {"id": user_id})
    with pytest.raises(NotFound):
        await accounts.get_api_key(key_id)
    with pytest.raises(AuthError):
        await accounts.verify_api_key(plaintext)


def test_principal_scope_rules() -> None:
    def make(scopes: tuple[str, ...]) -> Principal:
        return Principal(1, "a", Role.MEMBER, 1, scopes, None)

    assert make(("*",)).allows("x:y")
    assert make(("models:*",)).allows("models:list") and not make(("models:*",)).allows("memory:list")
    assert make(("chat",)).allows("chat") and not make(("chat",)).allows("chat:write")
    assert not make(()).allows("chat")
