"""Admin pages (users, audit log) and the API-key page every user has for their own keys."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Form, Query, Request
from starlette.responses import RedirectResponse, Response

from sophia.accounts import Principal, Role, UserStatus
from sophia.errors import InvalidInput, NotFound, SophiaError
from sophia.server.web._guard import signed_in
from sophia.server.web._render import render
from sophia.server.web._sessions import WebSession
from sophia.server.web._state import web_state
from sophia.store import AuditEntry, AuditRow, Database, utcnow

router = APIRouter(tags=["web"], include_in_schema=False)
AnyUser = signed_in()
AdminUser = signed_in(Role.ADMIN)
Field = Annotated[str, Form(max_length=200)]


def _actor(me: WebSession) -> Principal:
    return Principal(me.user_id, me.user_name, me.role, None, ("*",), None)


@router.get("/admin/users")
async def users_page(request: Request, me: WebSession = AdminUser) -> Response:
    users = await web_state(request).services.accounts.list_users()
    return render(request, "users.html", users=users, roles=[r.value for r in Role])


@router.post("/admin/users")
async def create_user(
    request: Request, name: Field, role: Field, password: Field, me: WebSession = AdminUser, email: Field = ""
) -> Response:
    accounts = web_state(request).services.accounts
    try:
        if len(password) < 10:
            raise InvalidInput("password: use at least 10 characters")
        await accounts.create_user(name, role, email or None, password, actor=_actor(me))
    except SophiaError as error:
        users = await accounts.list_users()
        roles = [r.value for r in Role]
        return render(
            request, "users.html", status=error.http_status, users=users, roles=roles, error=error.message
        )
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/users/{user_id}/role")
async def set_role(request: Request, user_id: int, role: Field, me: WebSession = AdminUser) -> Response:
    if user_id == me.user_id and role != Role.ADMIN.value:
        raise InvalidInput("you cannot take away your own admin role; ask another admin")
    await web_state(request).services.accounts.set_user_role(user_id, role, actor=_actor(me))
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/users/{user_id}/status")
async def set_status(request: Request, user_id: int, status: Field, me: WebSession = AdminUser) -> Response:
    web = web_state(request)
    if user_id == me.user_id and status != UserStatus.ACTIVE.value:
        raise InvalidInput("you cannot disable your own account; ask another admin")
    await web.services.accounts.set_user_status(user_id, status, actor=_actor(me))
    if status != UserStatus.ACTIVE.value:
        await web.sessions.revoke_user(user_id)
        web.services.keys.clear()
    return RedirectResponse("/admin/users", status_code=303)


async def _keys_page(request: Request, me: WebSession, status: int = 200, **extra: object) -> Response:
    accounts = web_state(request).services.accounts
    everyone = me.role is Role.ADMIN
    keys = await accounts.list_api_keys(None if everyone else me.user_id)
    users = await accounts.list_users() if everyone else []
    return render(request, "keys.html", status=status, keys=keys, users=users, now=utcnow(), **extra)


@router.get("/keys")
async def keys_page(request: Request, me: WebSession = AnyUser) -> Response:
    return await _keys_page(request, me)


@router.post("/keys")
async def create_key(
    request: Request,
    name: Field,
    me: WebSession = AnyUser,
    budget_usd: Field = "",
    expires_days: Field = "",
    user_id: Field = "",
) -> Response:
    """The plaintext key is in this one response and nowhere else."""
    owner = me.user_id
    if user_id and me.role is Role.ADMIN:
        owner = int(user_id) if user_id.isdigit() else -1
    try:
        expires = utcnow() + timedelta(days=int(expires_days)) if expires_days.strip() else None
        info, plaintext = await web_state(request).services.accounts.create_api_key(
            owner, name or "web", None, expires, budget_usd.strip() or None, actor=_actor(me)
        )
    except ValueError:
        return await _keys_page(request, me, status=400, error="expires_days: give a whole number of days")
    except SophiaError as error:
        return await _keys_page(request, me, status=error.http_status, error=error.message)
    return await _keys_page(request, me, created=info, plaintext=plaintext)


@router.post("/keys/{key_id}/revoke")
async def revoke_key(request: Request, key_id: int, me: WebSession = AnyUser) -> Response:
    web = web_state(request)
    accounts = web.services.accounts
    key = await accounts.get_api_key(key_id)
    if key.user_id != me.user_id and me.role is not Role.ADMIN:
        raise NotFound(f"no API key {key_id!r}; it may have been deleted, or it belongs to someone else")
    await accounts.revoke_api_key(key_id, actor=_actor(me))
    web.services.keys.clear()
    return RedirectResponse("/keys", status_code=303)


async def search_audit(
    database: Database, action: str, actor: int | None, target: str, limit: int = 200
) -> list[AuditEntry]:
    """Newest first; `action` matches a prefix (`user.` finds every user change), `target` a substring."""
    query = sa.select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
    if action:
        query = query.where(AuditRow.action.startswith(action, autoescape=True))
    if actor is not None:
        query = query.where(AuditRow.actor_user_id == actor)
    if target:
        query = query.where(AuditRow.target.contains(target, autoescape=True))
    async with database.session() as session:
        rows = (await session.scalars(query)).all()
    return [
        AuditEntry(r.id, r.at, r.actor_user_id, r.actor_key_id, r.action, r.target, dict(r.detail))
        for r in rows
    ]


@router.get("/admin/audit")
async def audit_page(
    request: Request,
    me: WebSession = AdminUser,
    action: str = Query("", max_length=64),
    actor: str = Query("", max_length=12),
    target: str = Query("", max_length=255),
) -> Response:
    services = web_state(request).services
    actor_id = int(actor) if actor.isdigit() else None
    entries = await search_audit(services.database, action, actor_id, target)
    users = {u.id: u.name for u in await services.accounts.list_users()}
    return render(
        request, "audit.html", entries=entries, users=users, action=action, actor=actor_id, target=target
    )
