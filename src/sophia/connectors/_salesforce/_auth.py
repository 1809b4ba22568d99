"""Salesforce sessions: the OAuth JWT bearer flow (RS256 assertion signed with the connected app's key) or the
refresh-token flow; both answer with `instance_url`, the host every API call then goes to.

Salesforce sends no `expires_in`: the session is kept in memory and a 401 (INVALID_SESSION_ID) buys a new one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from sophia.connectors._auth import Resolve
from sophia.connectors._errors import ConnectorAuthError
from sophia.connectors._jwt import rs256_jwt
from sophia.observability import redactor

__all__ = ["JWT_GRANT", "SalesforceSession"]

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
_ASSERTION_SECONDS = 180


class SalesforceSession:
    """`Auth` for the connector, plus the `instance_url` the token endpoint named."""

    def __init__(
        self,
        name: str,
        login_url: str,
        resolve: Resolve,
        client: Callable[[], httpx.AsyncClient],
        *,
        username: str | None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._name, self._login_url, self._resolve, self._client = (
            name,
            login_url.rstrip("/"),
            resolve,
            client,
        )
        self._username, self._clock = username, clock
        self._token: str | None = None
        self._instance_url: str | None = None

    async def headers(self) -> dict[str, str]:
        if self._token is None:
            await self._grant()
        return {"Authorization": f"Bearer {self._token}"}

    async def refresh(self) -> bool:
        await self._grant()
        return True

    async def instance_url(self) -> str:
        if self._instance_url is None:
            await self._grant()
        return self._instance_url or self._login_url

    def _form(self) -> dict[str, str]:
        if self._username is not None:
            claims: dict[str, Any] = {
                "iss": self._resolve("client_id"),
                "sub": self._username,
                "aud": self._login_url,
                "exp": int(self._clock()) + _ASSERTION_SECONDS,
            }
            where = "credentials.private_key (the connected app's certificate key)"
            return {"grant_type": JWT_GRANT, "assertion": rs256_jwt(claims, self._resolve("private_key"),
                                                                    service="Salesforce", where=where)}  # fmt: skip
        return {
            "grant_type": "refresh_token",
            "refresh_token": self._resolve("refresh_token"),
            "client_id": self._resolve("client_id"),
            "client_secret": self._resolve("client_secret"),
        }

    async def _grant(self) -> None:
        try:
            response = await self._client().post(
                f"{self._login_url}/services/oauth2/token",
                data=self._form(),
                headers={"Accept": "application/json"},
            )
        except httpx.HTTPError as error:
            raise ConnectorAuthError(
                f"{self._name}: Salesforce's token endpoint could not be reached ({type(error).__name__})",
                service="Salesforce",
                retryable=True,
            ) from None
        try:
            body = response.json()
        except ValueError:
            body = {}
        token = body.get("access_token") if isinstance(body, dict) else None
        if response.status_code != 200 or not isinstance(token, str):
            said = body.get("error_description") or body.get("error") if isinstance(body, dict) else None
            raise ConnectorAuthError(
                f"{self._name}: Salesforce refused the token request ({str(said or response.status_code)[:200]})",
                service="Salesforce",
                status=response.status_code,
            )
        redactor.add(token)
        self._token = token
        self._instance_url = str(body.get("instance_url") or self._login_url).rstrip("/")
