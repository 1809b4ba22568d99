"""n8n public API v1 (the user's instance, e.g. https://n8n.example.com/api/v1): workflows, executions, webhooks.

Auth: the `X-N8N-API-KEY` header. Listings page with `cursor`/`nextCursor`. A workflow's production webhook is
called without the API key; a webhook URL given as an argument must be on the instance's own host or resolve only
to public addresses (the same check as web.fetch), so an agent cannot aim it at internal services.
"""

from __future__ import annotations

from typing import Annotated, Any

import httpx

from sophia.connectors._auth import Auth, HeaderToken, Resolve
from sophia.connectors._errors import ConnectorInvalid
from sophia.connectors._model import CheckResult, Connector, Credential, action
from sophia.connectors._paging import collect_cursor
from sophia.secrets import SecretResolver
from sophia.tools import SideEffect, forbidden_reason, literal_address, system_resolver

__all__ = ["N8n"]


class N8n(Connector):
    kind = "n8n"
    title = "n8n"
    group = "integrations"
    default_base_url = "http://localhost:5678/api/v1"
    docs_url = "https://docs.n8n.io/api/api-reference/"
    credentials = (Credential("token", "an n8n API key (Settings → n8n API)"),)

    def build_auth(self, resolve: Resolve, secrets: SecretResolver) -> Auth:
        return HeaderToken(resolve, header="X-N8N-API-KEY", scheme="")

    async def check(self) -> CheckResult:
        body = await self.http.json("GET", "/workflows", params={"limit": 1})
        return CheckResult(True, "API key accepted", {"workflows_seen": len(body.get("data", []))})

    async def _paged(self, path: str, params: dict[str, Any], limit: int) -> list[dict[str, Any]]:
        async def page(cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
            query = {**params, "limit": min(limit, 250)}
            if cursor:
                query["cursor"] = cursor
            body = await self.http.json("GET", path, params=query)
            return body.get("data", []), body.get("nextCursor")

        return await collect_cursor(page, limit=limit)

    @action("workflows.list")
    async def workflows(
        self,
        active: Annotated[bool | None, "Only active (true) or inactive (false) workflows."] = None,
        name: Annotated[str | None, "Only workflows with this name."] = None,
        limit: Annotated[int, "How many at most."] = 100,
    ) -> list[dict[str, Any]]:
        """Workflows on the instance (all pages up to `limit`)."""
        params: dict[str, Any] = {"excludePinnedData": "true"}
        if active is not None:
            params["active"] = str(active).lower()
        if name:
            params["name"] = name
        return [_workflow(w) for w in await self._paged("/workflows", params, limit)]

    @action("workflows.get")
    async def workflow(self, workflow_id: Annotated[str, "The workflow's id."]) -> dict[str, Any]:
        """One workflow with its node names and types, and its webhook paths."""
        body = await self.http.json("GET", f"/workflows/{workflow_id}", params={"excludePinnedData": "true"})
        nodes = body.get("nodes", [])
        return {
            **_workflow(body),
            "nodes": [{"name": n.get("name"), "type": n.get("type")} for n in nodes],
            "webhook_paths": [
                n["parameters"]["path"]
                for n in nodes
                if n.get("type") == "n8n-nodes-base.webhook" and (n.get("parameters") or {}).get("path")
            ],
        }

    @action("workflows.activate", SideEffect.WRITE)
    async def activate(self, workflow_id: str) -> dict[str, Any]:
        """Activate a workflow (its triggers and webhooks go live)."""
        return _workflow(await self.http.json("POST", f"/workflows/{workflow_id}/activate"))

    @action("workflows.deactivate", SideEffect.WRITE)
    async def deactivate(self, workflow_id: str) -> dict[str, Any]:
        """Deactivate a workflow (its triggers stop)."""
        return _workflow(await self.http.json("POST", f"/workflows/{workflow_id}/deactivate"))

    @action("executions.list")
    async def executions(
        self,
        workflow_id: Annotated[str | None, "Only this workflow's executions."] = None,
        status: Annotated[str | None, "error, success, waiting, running or canceled."] = None,
        limit: Annotated[int, "How many at most."] = 50,
    ) -> list[dict[str, Any]]:
        """Recent executions with their status (all pages up to `limit`)."""
        params: dict[str, Any] = {"includeData": "false"}
        if workflow_id:
            params["workflowId"] = workflow_id
        if status:
            params["status"] = status
        return [_execution(e) for e in await self._paged("/executions", params, limit)]

    @action("executions.get")
    async def execution(self, execution_id: Annotated[str, "The execution's id."]) -> dict[str, Any]:
        """One execution's status and timing."""
        return _execution(
            await self.http.json("GET", f"/executions/{execution_id}", params={"includeData": "false"})
        )

    @action("webhooks.trigger", SideEffect.WRITE)
    async def trigger(
        self,
        payload: Annotated[dict[str, Any], "The JSON body to send."],
        path: Annotated[str | None, "The webhook path (joined to option webhook_base_url)."] = None,
        url: Annotated[str | None, "A full production webhook URL (checked: no private addresses)."] = None,
    ) -> dict[str, Any]:
        """Trigger a workflow through its production webhook (POST); returns the workflow's answer."""
        target = await self.webhook_url(path, url)
        response = await self.http.request("POST", target, json=payload, authenticate=False)
        try:
            answer: Any = response.json()
        except ValueError:
            answer = response.text[:2000]
        return {"status": response.status_code, "response": answer}

    async def webhook_url(self, path: str | None, url: str | None) -> str:
        """Where a trigger goes: `webhook_base_url` (an option) + path, or a URL argument that passes the check."""
        if (path is None) == (url is None):
            raise ConnectorInvalid("give exactly one of path or url", service=self.title)
        if path is not None:
            base = str(self.options.get("webhook_base_url") or _default_webhook_base(self.http.base_url))
            return f"{base.rstrip('/')}/{path.lstrip('/')}"
        assert url is not None
        target = httpx.URL(url)
        if target.scheme not in ("http", "https") or not target.host:
            raise ConnectorInvalid(f"{url!r} is not an http(s) URL", service=self.title)
        if target.host == httpx.URL(self.http.base_url).host:
            return url
        for address in await resolve_webhook(
            target.host, target.port or (443 if target.scheme == "https" else 80)
        ):
            reason = forbidden_reason(address)
            if reason:
                raise ConnectorInvalid(
                    f"{target.host} resolves to a {reason} address; webhooks may only go to public hosts "
                    "or the configured n8n instance",
                    service=self.title,
                )
        return url


async def resolve_webhook(host: str, port: int) -> list[Any]:
    literal = literal_address(host)
    if literal is not None:
        return [literal]
    found = [literal_address(a) for a in await system_resolver(host, port)]
    return [a for a in found if a is not None]


def _default_webhook_base(api_base: str) -> str:
    url = httpx.URL(api_base)
    return str(url.copy_with(path="/webhook", query=None))


def _workflow(item: dict[str, Any]) -> dict[str, Any]:
    return {
        key: item.get(key) for key in ("id", "name", "active", "createdAt", "updatedAt", "isArchived")
    } | {"tags": [t.get("name") for t in item.get("tags") or []]}


def _execution(item: dict[str, Any]) -> dict[str, Any]:
    return {
        key: item.get(key)
        for key in ("id", "workflowId", "status", "mode", "finished", "startedAt", "stoppedAt", "retryOf")
    }
