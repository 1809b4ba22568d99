"""The GitHub connector's base: token auth, the API version pin, the check, webhooks, and small shapers."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from sophia.connectors._auth import Auth, Resolve
from sophia.connectors._errors import ConnectorInvalid, ConnectorNotConfigured
from sophia.connectors._github._app_auth import GitHubAppAuth
from sophia.connectors._model import CheckResult, Connector, Credential, WebhookEvent
from sophia.connectors._paging import collect_links
from sophia.connectors._webhooks import WebhookRefused, verify_github
from sophia.secrets import SecretResolver

__all__ = ["API_VERSION", "GitHubBase", "repo_path", "user_of"]

API_VERSION = "2022-11-28"
_PER_PAGE = 100


def repo_path(owner: str, repo: str) -> str:
    for part, label in ((owner, "owner"), (repo, "repo")):
        if not part or "/" in part or part in (".", ".."):
            raise ConnectorInvalid(f"GitHub {label} {part!r} is not a valid name", service="GitHub")
    return f"/repos/{owner}/{repo}"


def user_of(body: Any) -> str | None:
    return body.get("login") if isinstance(body, dict) else None


class GitHubBase(Connector):
    kind = "github"
    title = "GitHub"
    group = "integrations"
    default_base_url = "https://api.github.com"
    docs_url = "https://docs.github.com/en/rest"
    credentials = (
        Credential(
            "token",
            "a fine-grained or classic personal access token (or use a GitHub App: app_private_key)",
            required=False,
        ),
        Credential(
            "app_private_key",
            "a GitHub App's private key (PEM), with options.app_id and options.installation_id",
            required=False,
        ),
        Credential("webhook_secret", "the secret set on the repository's or organisation's webhook", False),
    )
    _app_auth: GitHubAppAuth | None = None
    default_headers: ClassVar[dict[str, str]] = {
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": API_VERSION,
    }

    def build_auth(self, resolve: Resolve, secrets: SecretResolver) -> Auth:
        """A GitHub App's installation token when `app_private_key` is configured, else the token."""
        if "app_private_key" not in self.settings.credentials:
            return super().build_auth(resolve, secrets)
        app_id, installation = self.options.get("app_id"), self.options.get("installation_id")
        if not app_id or not installation:
            raise ConnectorNotConfigured(
                f"{self.name}: a GitHub App needs options.app_id and options.installation_id beside"
                " credentials.app_private_key",
                service="GitHub",
            )
        self._app_auth = GitHubAppAuth(resolve, lambda: self.http, str(installation), str(app_id))
        return self._app_auth

    async def git_token(self) -> str:
        """What `git push` authenticates with: the installation token of an app, else the configured token."""
        if self._app_auth is not None:
            return await self._app_auth.token()
        return self.credential("token")

    async def _list(
        self, path: str, limit: int, params: dict[str, Any] | None = None, key: str = ""
    ) -> list[Any]:
        query = {"per_page": min(_PER_PAGE, max(1, limit)), **(params or {})}
        items = (lambda body: list(body[key])) if key else (lambda body: list(body))
        return await collect_links(self.http, path, params=query, limit=limit, items=items)

    async def check(self) -> CheckResult:
        response = await self.http.request("GET", "/user")
        login = response.json().get("login", "")
        scopes = response.headers.get("x-oauth-scopes")
        detail: dict[str, Any] = {"login": login}
        if scopes is not None:
            detail["scopes"] = [s.strip() for s in scopes.split(",") if s.strip()]
        remaining = response.headers.get("x-ratelimit-remaining")
        if remaining is not None:
            detail["rate_limit_remaining"] = int(remaining)
        return CheckResult(True, f"signed in to GitHub as {login}", detail)

    def verify_webhook(self, headers: dict[str, str], body: bytes, secret: str) -> WebhookEvent:
        """`X-Hub-Signature-256` checked; type `<X-GitHub-Event>.<action>`; `X-GitHub-Delivery` deduplicates."""
        lower = {k.lower(): v for k, v in headers.items()}
        verify_github(secret, body, lower.get("x-hub-signature-256"))
        event = lower.get("x-github-event", "")
        delivery = lower.get("x-github-delivery", "")
        if not event or not delivery:
            raise WebhookRefused("a GitHub webhook needs X-GitHub-Event and X-GitHub-Delivery headers")
        try:
            payload = json.loads(body)
        except ValueError:
            raise WebhookRefused("the GitHub webhook body is not JSON") from None
        if not isinstance(payload, dict):
            raise WebhookRefused("the GitHub webhook body is not a JSON object")
        if event == "ping":
            return WebhookEvent(
                "ping", delivery, payload, "ping", reply={"ok": True, "zen": payload.get("zen")}
            )
        action = payload.get("action")
        kind = f"{event}.{action}" if isinstance(action, str) and action else event
        return WebhookEvent(kind, delivery, payload, _summary(event, payload))


def _summary(event: str, payload: dict[str, Any]) -> str:
    repo = (payload.get("repository") or {}).get("full_name", "")
    for key in ("pull_request", "issue", "release", "check_run", "workflow_run"):
        item = payload.get(key)
        if isinstance(item, dict):
            number = item.get("number")
            title = item.get("title") or item.get("name") or item.get("tag_name") or ""
            ref = f"#{number} " if number else ""
            return f"{repo} {event} {payload.get('action', '')}: {ref}{title}".strip()
    if event == "push":
        return f"{repo} push to {payload.get('ref', '')}"
    return f"{repo} {event}".strip()
