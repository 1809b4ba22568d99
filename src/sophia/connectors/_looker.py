"""Looker API 4.0: client id/secret → access token (`POST /login`, renewed before expiry and after a 401),
looks and dashboards, a look run as JSON, an inline query (`/queries/run/json`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated, Any

from sophia.connectors._auth import Auth, Resolve
from sophia.connectors._errors import ConnectorAuthError
from sophia.connectors._http import ConnectorHttp
from sophia.connectors._model import CheckResult, Connector, Credential, action
from sophia.observability import redactor
from sophia.secrets import SecretResolver

__all__ = ["Looker", "LookerLogin"]

_MARGIN = 60.0


class LookerLogin:
    """`Authorization: token <access_token>` from `POST /login` (client_id, client_secret as a form)."""

    def __init__(
        self, resolve: Resolve, http: Callable[[], ConnectorHttp], clock: Callable[[], float] = time.time
    ):
        self._resolve, self._http, self._clock = resolve, http, clock
        self._token: tuple[str, float] | None = None

    async def headers(self) -> dict[str, str]:
        if self._token is None or self._token[1] - _MARGIN <= self._clock():
            await self._login()
        assert self._token is not None
        return {"Authorization": f"token {self._token[0]}"}

    async def refresh(self) -> bool:
        self._token = None
        return True

    async def _login(self) -> None:
        form = {"client_id": self._resolve("client_id"), "client_secret": self._resolve("client_secret")}
        body = await self._http().json("POST", "/login", data=form, authenticate=False, reads=True)
        token = (body or {}).get("access_token")
        if not isinstance(token, str):
            raise ConnectorAuthError("Looker: /login answered without an access_token", service="Looker")
        redactor.add(token)
        self._token = (token, self._clock() + float(body.get("expires_in") or 3600))


class Looker(Connector):
    kind = "looker"
    title = "Looker"
    group = "data"
    default_base_url = "https://example.cloud.looker.com/api/4.0"
    docs_url = "https://cloud.google.com/looker/docs/reference/looker-api/latest"
    credentials = (
        Credential("client_id", "an API3 client id (Admin → Users → Edit keys)"),
        Credential("client_secret", "its client secret"),
    )

    def build_auth(self, resolve: Resolve, secrets: SecretResolver) -> Auth:
        return LookerLogin(resolve, lambda: self.http)

    async def check(self) -> CheckResult:
        me = await self.http.json("GET", "/user", params={"fields": "id,display_name"})
        return CheckResult(True, "API keys accepted", {"user": me.get("display_name")})

    @action("looks.list")
    async def looks(self, limit: Annotated[int, "How many at most."] = 100) -> list[dict[str, Any]]:
        """Saved looks: id, title, folder."""
        found = await self.http.json("GET", "/looks", params={"fields": "id,title,folder"})
        return [
            {"id": str(x.get("id")), "title": x.get("title"), "folder": (x.get("folder") or {}).get("name")}
            for x in found[:limit]
        ]

    @action("dashboards.list")
    async def dashboards(self, limit: Annotated[int, "How many at most."] = 100) -> list[dict[str, Any]]:
        """Dashboards: id, title, folder."""
        found = await self.http.json("GET", "/dashboards", params={"fields": "id,title,folder"})
        return [
            {"id": str(x.get("id")), "title": x.get("title"), "folder": (x.get("folder") or {}).get("name")}
            for x in found[:limit]
        ]

    @action("looks.run")
    async def run_look(
        self, look_id: Annotated[str, "The look's id."], limit: Annotated[int, "Rows at most."] = 500
    ) -> list[dict[str, Any]]:
        """Run a saved look and return its rows as JSON objects."""
        rows: list[dict[str, Any]] = await self.http.json(
            "GET", f"/looks/{look_id}/run/json", params={"limit": limit}
        )
        return rows

    @action("queries.run")
    async def run_query(
        self,
        model: Annotated[str, "The LookML model."],
        view: Annotated[str, "The explore."],
        fields: Annotated[list[str], "Fields like orders.count."],
        filters: Annotated[dict[str, str] | None, "Field → Looker filter expression."] = None,
        sorts: Annotated[list[str] | None, "Sorts like 'orders.count desc'."] = None,
        limit: Annotated[int, "Rows at most."] = 500,
    ) -> list[dict[str, Any]]:
        """Run an inline query (not saved) and return its rows as JSON objects."""
        body: dict[str, Any] = {"model": model, "view": view, "fields": fields, "limit": str(limit)}
        if filters:
            body["filters"] = filters
        if sorts:
            body["sorts"] = sorts
        rows: list[dict[str, Any]] = await self.http.json("POST", "/queries/run/json", json=body, reads=True)
        return rows
