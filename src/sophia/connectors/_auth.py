"""How a connector proves who it is: a token, a key header, Basic, or an OAuth refresh-token flow.

Secrets are resolved at the first request (never at start-up), so a connector with a missing key still lists and
checks, and says which reference to fix.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Protocol

import httpx

from sophia.connectors._errors import ConnectorAuthError, ConnectorNotConfigured
from sophia.errors import SecretError
from sophia.observability import redactor
from sophia.secrets import SecretBackend

__all__ = ["Auth", "BasicAuth", "HeaderToken", "NoAuth", "OAuthRefresh", "Resolve"]

Resolve = Callable[[str], str]
"""A credential's name -> its secret value; raises ConnectorNotConfigured naming the missing reference."""


class Auth(Protocol):
    async def headers(self) -> dict[str, str]:
        """The headers that authenticate one request."""
        ...

    async def refresh(self) -> bool:
        """After a 401: obtain new credentials if this scheme can; True when the request is worth retrying."""
        ...


class NoAuth:
    async def headers(self) -> dict[str, str]:
        return {}

    async def refresh(self) -> bool:
        return False


class HeaderToken:
    """A token in a header: `Authorization: Bearer …` by default, or e.g. `X-Api-Key: …` with no scheme."""

    def __init__(
        self,
        resolve: Resolve,
        credential: str = "token",
        *,
        header: str = "Authorization",
        scheme: str = "Bearer",
    ) -> None:
        self._resolve, self._credential, self._header, self._scheme = resolve, credential, header, scheme

    async def headers(self) -> dict[str, str]:
        token = self._resolve(self._credential)
        return {self._header: f"{self._scheme} {token}" if self._scheme else token}

    async def refresh(self) -> bool:
        return False


class BasicAuth:
    def __init__(self, resolve: Resolve, user: str = "username", password: str = "password") -> None:
        self._resolve, self._user, self._password = resolve, user, password

    async def headers(self) -> dict[str, str]:
        pair = f"{self._resolve(self._user)}:{self._resolve(self._password)}".encode()
        encoded = base64.b64encode(pair).decode()
        redactor.add(encoded)
        return {"Authorization": f"Basic {encoded}"}

    async def refresh(self) -> bool:
        return False


class OAuthRefresh:
    """OAuth 2 refresh-token grant: the access token lives in the vault and is refreshed before it expires.

    Stored as `connector.<name>.oauth` (JSON: access_token, expires_at, refresh_token when the service rotates it).
    """

    margin = 60.0

    def __init__(
        self,
        name: str,
        token_url: str,
        resolve: Resolve,
        vault: Callable[[], SecretBackend],
        client: Callable[[], httpx.AsyncClient],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._name, self._token_url, self._resolve, self._vault = name, token_url, resolve, vault
        self._client, self._clock = client, clock

    @property
    def _slot(self) -> str:
        return f"connector.{self._name}.oauth"

    def _stored(self) -> dict[str, object]:
        try:
            raw = self._vault().get(self._slot)
        except SecretError as error:
            raise ConnectorNotConfigured(
                f"{self._name}: the vault cannot be opened ({error.message})"
            ) from None
        if not raw:
            return {}
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            return {}
        return value if isinstance(value, dict) else {}

    async def headers(self) -> dict[str, str]:
        stored = self._stored()
        token, expires = stored.get("access_token"), stored.get("expires_at")
        fresh = isinstance(expires, int | float) and expires - self.margin > self._clock()
        if not isinstance(token, str) or not fresh:
            token = await self._exchange(stored)
        redactor.add(token)
        return {"Authorization": f"Bearer {token}"}

    async def refresh(self) -> bool:
        await self._exchange(self._stored())
        return True

    async def _exchange(self, stored: dict[str, object]) -> str:
        refresh_token = stored.get("refresh_token")
        if not isinstance(refresh_token, str):
            refresh_token = self._resolve("refresh_token")
        form = {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": self._resolve("client_id"),
            "client_secret": self._resolve("client_secret"),
        }
        client = self._client()
        try:
            response = await client.post(self._token_url, data=form, headers={"Accept": "application/json"})
        except httpx.HTTPError as error:
            raise ConnectorAuthError(
                f"{self._name}: the token endpoint could not be reached ({type(error).__name__})",
                service=self._name,
                retryable=True,
            ) from None
        body = _json_object(response)
        token = body.get("access_token")
        if response.status_code != 200 or not isinstance(token, str):
            reason = body.get("error_description") or body.get("error") or f"status {response.status_code}"
            raise ConnectorAuthError(
                f"{self._name}: refreshing the OAuth token failed ({str(reason)[:200]}); authorise again",
                service=self._name,
                status=response.status_code,
            )
        redactor.add(token)
        lifetime = body.get("expires_in")
        record: dict[str, object] = {
            "access_token": token,
            "expires_at": self._clock() + (float(lifetime) if isinstance(lifetime, int | float) else 3600.0),
            "refresh_token": body.get("refresh_token")
            if isinstance(body.get("refresh_token"), str)
            else refresh_token,
        }
        for key in ("instance_url", "scope"):
            if isinstance(body.get(key), str):
                record[key] = body[key]
        self._vault().set(self._slot, json.dumps(record))
        return token


def _json_object(response: httpx.Response) -> dict[str, object]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
