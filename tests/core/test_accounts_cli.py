"""`sophia users ...` and `sophia keys ...` through the real Typer apps, on both engines."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest
from typer.testing import CliRunner

from sophia.accounts import KEY_PATTERN, AccountService, Principal, hash_key
from sophia.cli._accounts import keys_app, users_app
from sophia.errors import AuthError
from sophia.store import Database

runner = CliRunner()
T = TypeVar("T")


@pytest.fixture
def configured(migrated_database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SOPHIA_STORAGE__URL", migrated_database_url)
    monkeypatch.setenv("COLUMNS", "200")  # tables wrap at 80 columns; these tests check content, not layout
    return migrated_database_url


@pytest.fixture
def configured_empty(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """An empty database: the commands must migrate it themselves."""
    monkeypatch.setenv("SOPHIA_STORAGE__URL", database_url)
    monkeypatch.setenv("COLUMNS", "200")
    return database_url


def _service(url: str, call: Callable[[AccountService], Awaitable[T]]) -> T:
    """The CLI runs its own event loop, so these tests are synchronous and check results the same way."""

    async def run() -> T:
        async with Database(url) as db:
            return await call(AccountService(db))

    return asyncio.run(run())


def _verify(url: str, plaintext: str) -> Principal:
    return _service(url, lambda accounts: accounts.verify_api_key(plaintext))


def _create_key(*args: str) -> str:
    result = runner.invoke(keys_app, ["create", *args])
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def test_users_create_and_list_on_a_fresh_database(configured_empty: str) -> None:
    result = runner.invoke(users_app, ["create", "alice", "--admin", "--email", "alice@example.com"])
    assert result.exit_code == 0, result.output
    assert "created user alice" in result.output and "role admin" in result.output
    assert runner.invoke(users_app, ["create", "bob", "--role", "viewer"]).exit_code == 0
    listing = runner.invoke(users_app, ["list"]).output
    assert "alice" in listing and "alice@example.com" in listing and "admin" in listing
    assert "bob" in listing and "viewer" in listing


def test_a_duplicate_user_exits_2_with_a_clear_message(configured: str) -> None:
    runner.invoke(users_app, ["create", "alice"])
    result = runner.invoke(users_app, ["create", "alice"])
    assert result.exit_code == 2
    assert "already exists" in result.output and "Traceback" not in result.output


def test_a_created_key_is_printed_once_and_verifies(configured: str) -> None:
    runner.invoke(users_app, ["create", "alice"])
    result = runner.invoke(
        keys_app,
        ["create", "--user", "alice", "--name", "ci", "--scope", "chat:write", "--scope", "memory:*",
         "--expires-in-days", "30", "--budget-usd", "5"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    plaintext = result.stdout.strip()
    assert KEY_PATTERN.fullmatch(plaintext), result.stdout
    assert "will not be shown again" in result.stderr
    principal = _verify(configured, plaintext)
    assert principal.user_name == "alice" and principal.scopes == ("chat:write", "memory:*")

    listing = runner.invoke(keys_app, ["list"])
    assert listing.exit_code == 0, listing.output
    assert f"sph_{plaintext[4:12]}" in listing.output
    assert "alice" in listing.output and "chat:write" in listing.output and "$5.00" in listing.output
    assert plaintext not in listing.output and plaintext[13:] not in listing.output
    assert hash_key(plaintext) not in listing.output


def test_keys_list_filters_by_user(configured: str) -> None:
    runner.invoke(users_app, ["create", "alice"])
    runner.invoke(users_app, ["create", "bob"])
    alice_key = _create_key("--user", "alice")
    bob_key = _create_key("--user", "bob")
    listing = runner.invoke(keys_app, ["list", "--user", "bob"]).output
    assert f"sph_{bob_key[4:12]}" in listing and f"sph_{alice_key[4:12]}" not in listing


@pytest.mark.parametrize("handle", ["prefix", "sph_prefix", "id"])
def test_revoke_by_prefix_or_id_refuses_the_key(configured: str, handle: str) -> None:
    runner.invoke(users_app, ["create", "alice"])
    plaintext = _create_key("--user", "alice")
    key_id = _service(configured, lambda accounts: accounts.get_api_key(plaintext[4:12])).id
    target = {"prefix": plaintext[4:12], "sph_prefix": plaintext[:12], "id": str(key_id)}[handle]
    result = runner.invoke(keys_app, ["revoke", target])
    assert result.exit_code == 0, result.output
    assert "revoked key" in result.output
    with pytest.raises(AuthError):
        _verify(configured, plaintext)
    assert "revoked" in runner.invoke(keys_app, ["list"]).output


def test_keys_for_an_unknown_user_exit_2(configured: str) -> None:
    result = runner.invoke(keys_app, ["create", "--user", "nobody"])
    assert result.exit_code == 2
    assert "no user 'nobody'" in result.output


def test_disabling_a_user_refuses_their_keys(configured: str) -> None:
    runner.invoke(users_app, ["create", "alice"])
    plaintext = _create_key("--user", "alice")
    assert runner.invoke(users_app, ["disable", "alice"]).exit_code == 0
    with pytest.raises(AuthError):
        _verify(configured, plaintext)
    assert runner.invoke(users_app, ["enable", "alice"]).exit_code == 0
    assert _verify(configured, plaintext).user_name == "alice"


def test_a_password_is_prompted_not_passed_on_the_command_line(configured: str) -> None:
    result = runner.invoke(users_app, ["create", "alice", "--password"], input="s3cret-pass\ns3cret-pass\n")
    assert result.exit_code == 0, result.output
    assert "s3cret-pass" not in result.stdout
    listing = runner.invoke(users_app, ["list"]).output
    assert "yes" in listing
