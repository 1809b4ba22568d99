"""GitHub App authentication: a JWT signed with the app's private key buys an installation token (one hour),
kept in memory and renewed five minutes before it expires or after a 401.

The JWT is RS256 over `{iat: now-60, exp: now+540, iss: app_id}` (GitHub allows at most ten minutes), signed with
`cryptography` directly: no JWT library is needed for one fixed header.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sophia.connectors._auth import Resolve
from sophia.connectors._errors import ConnectorAuthError
from sophia.connectors._http import ConnectorHttp
from sophia.connectors._jwt import rs256_jwt
from sophia.observability import redactor

__all__ = ["GitHubAppAuth", "app_jwt"]

_RENEW_MARGIN_SECONDS = 300.0


def app_jwt(app_id: str, private_key_pem: str, now: float) -> str:
    """The app's own short-lived JWT (RS256)."""
    claims = {"iat": int(now) - 60, "exp": int(now) + 540, "iss": app_id}
    where = "credentials.app_private_key (download it from the app's settings)"
    return rs256_jwt(claims, private_key_pem, service="GitHub", where=where)


def _expiry(body: dict[str, Any]) -> float:
    text = str(body.get("expires_at", ""))
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise ConnectorAuthError(
            "GitHub answered the installation-token request without a valid expires_at", service="GitHub"
        ) from None


class GitHubAppAuth:
    """`Authorization: Bearer <installation token>`, exchanged from the app JWT when missing or near expiry."""

    def __init__(
        self,
        resolve: Resolve,
        http: Callable[[], ConnectorHttp],
        installation_id: str,
        app_id: str,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._resolve, self._http, self._clock = resolve, http, clock
        self.installation_id, self.app_id = installation_id, app_id
        self._token: str | None = None
        self._expires_at = 0.0

    async def token(self) -> str:
        """A valid installation token (also what `git push` sends)."""
        if self._token is None or self._expires_at - _RENEW_MARGIN_SECONDS <= self._clock():
            await self._exchange()
        assert self._token is not None
        return self._token

    async def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {await self.token()}"}

    async def refresh(self) -> bool:
        await self._exchange()
        return True

    async def _exchange(self) -> None:
        signed = app_jwt(self.app_id, self._resolve("app_private_key"), self._clock())
        redactor.add(signed)
        body = await self._http().json(
            "POST",
            f"/app/installations/{self.installation_id}/access_tokens",
            headers={"Authorization": f"Bearer {signed}"},
            authenticate=False,
            reads=True,  # buys a credential; changes nothing a dry run should hold back
        )
        token = body.get("token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise ConnectorAuthError(
                "GitHub answered the installation-token request without a token", service="GitHub"
            )
        redactor.add(token)
        self._token, self._expires_at = token, _expiry(body)
