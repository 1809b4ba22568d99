"""`sophia users ...` and `sophia keys ...`: manage who may call Sophia. Keys are shown once, at creation."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Annotated, TypeVar

import typer
from rich.box import SIMPLE
from rich.table import Table

from sophia.accounts import AccountService, ApiKeyInfo, Role, UserStatus
from sophia.cli._common import console, err_console, handle_errors
from sophia.cli._db import with_database
from sophia.store import utcnow

T = TypeVar("T")

users_app = typer.Typer(name="users", help="Create and list users.", no_args_is_help=True)
keys_app = typer.Typer(name="keys", help="Create, list and revoke API keys.", no_args_is_help=True)


def _with_accounts(ctx: typer.Context, work: Callable[[AccountService], Awaitable[T]]) -> T:
    """Run `work` against the accounts service on the database (`cli_database` sets it up)."""
    return with_database(ctx, lambda database: work(AccountService(database)))


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "-"


def _day(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value else "-"


@users_app.command("create")
@handle_errors
def create_user(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Unique user name.")],
    role: Annotated[Role, typer.Option("--role", help="admin, member, viewer or pending.")] = Role.MEMBER,
    email: Annotated[str | None, typer.Option("--email", help="Optional, unique.")] = None,
    admin: Annotated[bool, typer.Option("--admin", help="Shorthand for --role admin.")] = False,
    password: Annotated[bool, typer.Option("--password", help="Prompt for a web sign-in password.")] = False,
) -> None:
    """Create a user."""
    secret = typer.prompt("Password", hide_input=True, confirmation_prompt=True) if password else None
    chosen = Role.ADMIN if admin else role
    user = _with_accounts(ctx, lambda accounts: accounts.create_user(name, chosen, email, secret))
    console.print(f"created user {user.name} (id {user.id}, role {user.role.value})", highlight=False)


@users_app.command("list")
@handle_errors
def list_users(ctx: typer.Context) -> None:
    """List users."""
    users = _with_accounts(ctx, lambda accounts: accounts.list_users())
    if not users:
        console.print("no users yet; create one with `sophia users create NAME --admin`")
        return
    table = Table("id", "name", "email", "role", "status", "password", "created")
    for user in users:
        table.add_row(
            str(user.id), user.name, user.email or "-", user.role.value, user.status.value,
            "yes" if user.has_password else "no", _when(user.created_at),
        )  # fmt: skip
    console.print(table)


def _set_status(ctx: typer.Context, name: str, status: UserStatus) -> None:
    user = _with_accounts(ctx, lambda accounts: accounts.set_user_status(name, status))
    console.print(f"user {user.name} is now {user.status.value}", highlight=False)


@users_app.command("disable")
@handle_errors
def disable_user(ctx: typer.Context, name: Annotated[str, typer.Argument(help="User name.")]) -> None:
    """Disable a user: every one of their keys is refused until they are enabled again."""
    _set_status(ctx, name, UserStatus.DISABLED)


@users_app.command("enable")
@handle_errors
def enable_user(ctx: typer.Context, name: Annotated[str, typer.Argument(help="User name.")]) -> None:
    """Enable a disabled user."""
    _set_status(ctx, name, UserStatus.ACTIVE)


@keys_app.command("create")
@handle_errors
def create_key(
    ctx: typer.Context,
    user: Annotated[str, typer.Option("--user", help="Owner's user name.")],
    name: Annotated[str, typer.Option("--name", help="A label for the key.")] = "default",
    scope: Annotated[
        list[str] | None, typer.Option("--scope", help="Allowed scope; repeat. Default: all.")
    ] = None,
    expires_in_days: Annotated[
        int | None, typer.Option("--expires-in-days", min=1, help="Lifetime in days.")
    ] = None,
    budget_usd: Annotated[
        float | None, typer.Option("--budget-usd", min=0, help="Spending cap in USD.")
    ] = None,
) -> None:
    """Create an API key and print it once; only its hash is stored."""
    expires_at = utcnow() + timedelta(days=expires_in_days) if expires_in_days else None

    async def work(accounts: AccountService) -> tuple[ApiKeyInfo, str]:
        owner = await accounts.get_user(user)
        budget = str(budget_usd) if budget_usd is not None else None
        return await accounts.create_api_key(owner.id, name, scope or None, expires_at, budget)

    info, plaintext = _with_accounts(ctx, work)
    err_console.print(
        f"[bold yellow]API key {info.name!r} for {info.user_name} (id {info.id}). "
        "Copy it now: it will not be shown again.[/]",
        highlight=False,
    )
    typer.echo(plaintext)


def _key_status(key: ApiKeyInfo) -> str:
    if key.revoked:
        return "revoked"
    return "expired" if key.expired(utcnow()) else "active"


@keys_app.command("list")
@handle_errors
def list_keys(
    ctx: typer.Context,
    user: Annotated[str | None, typer.Option("--user", help="Only this user's keys.")] = None,
) -> None:
    """List API keys (prefix, owner, scopes, expiry, budget, status); never the key or its hash."""

    async def work(accounts: AccountService) -> list[ApiKeyInfo]:
        owner = await accounts.get_user(user) if user else None
        return await accounts.list_api_keys(owner.id if owner else None)

    keys = _with_accounts(ctx, work)
    if not keys:
        console.print("no API keys; create one with `sophia keys create --user NAME`")
        return
    table = Table(
        "id", "prefix", "name", "owner", "scopes", "expires", "budget", "last used", "status", box=SIMPLE
    )
    for column in table.columns:  # keep the prefix whole; let the other columns wrap in narrow terminals
        column.no_wrap = column.header in ("id", "prefix")
        column.overflow = "fold"
    for key in keys:
        budget = f"${key.budget_usd:.2f}" if key.budget_usd is not None else "-"
        table.add_row(
            str(key.id), f"sph_{key.prefix}", key.name, key.user_name, " ".join(key.scopes),
            _day(key.expires_at), budget, _day(key.last_used_at), _key_status(key),
        )  # fmt: skip
    console.print(table)


@keys_app.command("revoke")
@handle_errors
def revoke_key(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="Key id, or its prefix (sph_xxxxxxxx).")],
) -> None:
    """Revoke an API key; it is refused from now on."""
    target: int | str = int(key) if key.isdigit() else key
    info = _with_accounts(ctx, lambda accounts: accounts.revoke_api_key(target))
    console.print(f"revoked key sph_{info.prefix} ({info.name}, owner {info.user_name})", highlight=False)
