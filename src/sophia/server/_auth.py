"""Bearer API-key authentication for every non-public route, through the services' one `KeyVerifier`."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import Depends, Request

from sophia.accounts import Principal, Role
from sophia.errors import AuthError, PermissionDenied
from sophia.server._services import Services

# Scope-state key under which the rate-limit middleware, which verifies every /v1/ request's key first, leaves
# the principal (or the AuthError), so the route neither hashes nor looks the key up a second time.
VERIFIED_PRINCIPAL = "sophia.verified_principal"

# Routes under /v1/ that carry no API key by design: a service's signed webhook authenticates by its signature.
_PUBLIC_V1 = re.compile(r"/v1/connectors/[^/]+/webhook")


def is_public_path(path: str) -> bool:
    """True for a /v1/ route that is public by design, so no key is asked for (or charged) before it."""
    return _PUBLIC_V1.fullmatch(path) is not None


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


def verified_principal(scope: Any) -> Principal | None:
    """The principal `ApiRateLimitMiddleware` verified for this request; raises the `AuthError` it met instead."""
    found = scope.get("state", {}).get(VERIFIED_PRINCIPAL)
    if isinstance(found, AuthError):
        raise found
    return found  # type: ignore[no-any-return]


async def principal_of(found: Services, scope: Any) -> Principal:
    """Who sent this request: the middleware's verdict when it gave one, else one check through the verifier."""
    return verified_principal(scope) or await found.keys.verify_headers(scope["headers"])


async def authenticate(request: Request) -> Principal:
    """The caller of an API route; a pending account has no access at all until an admin approves it."""
    principal = await principal_of(services(request), request.scope)
    request.state.principal = principal
    refuse_pending(principal)
    return principal


def refuse_pending(principal: Principal) -> None:
    if principal.role is Role.PENDING:
        raise PermissionDenied("your account is pending approval; ask an admin to activate it")


def require_role(*roles: Role) -> Any:
    async def check(request: Request) -> Principal:
        principal = await authenticate(request)
        if principal.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise PermissionDenied(
                f"this needs one of the roles: {allowed}; your role is {principal.role.value}"
            )
        return principal

    return Depends(check)


def require_scope(principal: Principal, scope: str) -> None:
    if not principal.allows(scope):
        raise PermissionDenied(f"this API key lacks the scope '{scope}'; create a key with --scope {scope}")


CurrentPrincipal = Annotated[Principal, Depends(authenticate)]
USERS_OF_MODELS = (Role.ADMIN, Role.MEMBER)
