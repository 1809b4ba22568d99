"""The models page: providers, models, live health per deployment, chains per task; admins store provider keys."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from sophia.accounts import Role
from sophia.errors import InvalidInput, SophiaError
from sophia.observability import redactor
from sophia.secrets import Vault, check_name
from sophia.server.web._guard import signed_in
from sophia.server.web._render import render
from sophia.server.web._sessions import WebSession
from sophia.server.web._state import web_state
from sophia.store import record_audit

router = APIRouter(tags=["web"], include_in_schema=False)
AnyUser = signed_in()
AdminUser = signed_in(Role.ADMIN)


def _vault(request: Request) -> Vault:
    settings = web_state(request).services.settings
    return Vault(settings.home, settings.secrets.key_file)


async def _models_page(request: Request, status: int = 200, **extra: object) -> Response:
    services = web_state(request).services
    gateway = services.gateway
    breakers = gateway.breakers.states()
    rows = [
        (entry, gateway.health.get(entry.name), breakers.get(entry.name, "closed"))
        for entry in gateway.catalog
    ]
    try:
        stored = set(await asyncio.to_thread(_vault(request).names))
    except SophiaError:
        stored = set()
    providers = [
        (
            p,
            p.api_key.removeprefix("secret:") in stored
            if p.api_key and p.api_key.startswith("secret:")
            else None,
        )
        for p in services.settings.providers
    ]
    return render(
        request,
        "models.html",
        status=status,
        rows=rows,
        providers=providers,
        chains=services.settings.routing.chains,
        policy=services.settings.routing.policy,
        **extra,
    )


@router.get("/models")
async def models_page(request: Request, me: WebSession = AnyUser) -> Response:
    return await _models_page(request)


@router.post("/models/keys")
async def store_provider_key(
    request: Request,
    name: Annotated[str, Form(max_length=128)],
    value: Annotated[str, Form(max_length=10_000)],
    me: WebSession = AdminUser,
) -> Response:
    """The key goes to the vault and is never shown again; the audit log records its name only."""
    value = value.strip()
    try:
        check_name(name)
        if not value:
            raise InvalidInput("value: paste the provider's API key")
        redactor.add(value)
        await asyncio.to_thread(_vault(request).set, name, value)
    except SophiaError as error:
        return await _models_page(request, status=error.http_status, error=error.message)
    async with web_state(request).services.database.transaction() as session:
        record_audit(session, "secret.set", f"secret:{name}", actor_user_id=me.user_id, detail={"via": "web"})
    return await _models_page(request, saved=name)
