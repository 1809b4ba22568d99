"""Slack Web API: messages (Block Kit, threads), channels, users, files, and the signed inbound webhook.

Slack answers most failures with HTTP 200 and `{"ok": false, "error": "…"}`; `_call` turns those into the kit's
typed errors. HTTP 429 (with Retry-After) is paced and retried by the kit's client. httpx, not slack_sdk: the
kit's client already gives the retries, pacing, breaker and dry runs, and slack_sdk's async client would bypass them.
"""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import parse_qs

import httpx

from sophia.connectors._errors import (
    ConnectorAuthError,
    ConnectorConflict,
    ConnectorError,
    ConnectorInvalid,
    ConnectorNotFound,
    ConnectorRateLimited,
    ConnectorUnavailable,
)
from sophia.connectors._model import (
    ApprovalDecision,
    CheckResult,
    Connector,
    Credential,
    WebhookEvent,
    action,
)
from sophia.connectors._paging import collect_cursor
from sophia.connectors._webhooks import WebhookRefused, verify_slack
from sophia.tools import SideEffect

__all__ = ["APPROVE_ACTION", "DENY_ACTION", "Slack", "approval_blocks", "slack_error"]

APPROVE_ACTION = "sophia_approve"
DENY_ACTION = "sophia_deny"

_AUTH = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "no_permission",
        "missing_scope",
        "not_allowed_token_type",
        "ekm_access_denied",
    }
)
_NOT_FOUND = frozenset(
    {
        "channel_not_found",
        "user_not_found",
        "users_not_found",
        "message_not_found",
        "thread_not_found",
        "file_not_found",
        "not_in_channel",
    }
)
_CONFLICT = frozenset({"is_archived", "already_in_channel", "edit_window_closed", "cant_update_message"})
_UNAVAILABLE = frozenset({"internal_error", "fatal_error", "service_unavailable", "request_timeout"})


def slack_error(method: str, error: str, retry_after: float | None = None) -> ConnectorError:
    """The typed error for Slack's `{"ok": false, "error": …}` answer to `method`."""
    text = f"Slack refused {method}: {error}"
    kind: type[ConnectorError]
    if error == "ratelimited":
        return ConnectorRateLimited(text, service="Slack", status=429, retry_after=retry_after)
    if error in _AUTH:
        kind = ConnectorAuthError
    elif error in _NOT_FOUND:
        kind = ConnectorNotFound
    elif error in _CONFLICT:
        kind = ConnectorConflict
    elif error in _UNAVAILABLE:
        kind = ConnectorUnavailable
    else:
        kind = ConnectorInvalid
    return kind(text, service="Slack", status=200, retry_after=retry_after)


def approval_blocks(approval_id: str, tool: str, summary: str) -> list[dict[str, Any]]:
    """A Block Kit message asking to approve or deny one held tool call (the buttons carry its id)."""
    return [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": f"*Approval needed:* `{tool}`\n{summary}"[:3000]},
        },
        {
            "type": "actions",
            "block_id": f"sophia_approval_{approval_id}"[:255],
            "elements": [
                {
                    "type": "button",
                    "action_id": APPROVE_ACTION,
                    "style": "primary",
                    "text": {"type": "plain_text", "text": "Approve"},
                    "value": approval_id,
                },
                {
                    "type": "button",
                    "action_id": DENY_ACTION,
                    "style": "danger",
                    "text": {"type": "plain_text", "text": "Deny"},
                    "value": approval_id,
                },
            ],
        },
    ]


def _message(body: dict[str, Any]) -> dict[str, Any]:
    return {
        "channel": body.get("channel"),
        "ts": body.get("ts"),
        "thread_ts": body.get("message", {}).get("thread_ts"),
    }


def _channel(c: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": c.get("id"),
        "name": c.get("name"),
        "is_private": c.get("is_private", False),
        "is_member": c.get("is_member", False),
        "is_archived": c.get("is_archived", False),
        "num_members": c.get("num_members"),
        "topic": (c.get("topic") or {}).get("value", ""),
    }


def _user(u: dict[str, Any]) -> dict[str, Any]:
    profile = u.get("profile") or {}
    return {
        "id": u.get("id"),
        "name": u.get("name"),
        "real_name": u.get("real_name") or profile.get("real_name"),
        "email": profile.get("email"),
        "tz": u.get("tz"),
        "is_bot": u.get("is_bot", False),
        "deleted": u.get("deleted", False),
    }


class Slack(Connector):
    """A Slack app's bot token (`xoxb-…`) and signing secret."""

    kind = "slack"
    title = "Slack"
    group = "integrations"
    default_base_url = "https://slack.com/api"
    docs_url = "https://api.slack.com/methods"
    credentials = (
        Credential("token", "the bot token (xoxb-…)"),
        Credential("webhook_secret", "the app's signing secret (Basic Information page)", required=False),
    )

    async def _call(
        self, method: str, verb: str = "POST", *, reads: bool | None = None, **options: Any
    ) -> Any:
        response = await self.http.request(verb, f"/{method}", reads=reads, **options)
        try:
            body = response.json()
        except ValueError:
            raise ConnectorError(
                f"Slack answered {method} with a body that is not JSON", service="Slack"
            ) from None
        if not isinstance(body, dict) or body.get("ok") is not True:
            error = str(body.get("error", "unknown_error")) if isinstance(body, dict) else "unknown_error"
            raise slack_error(method, error[:100])
        return body

    async def check(self) -> CheckResult:
        me = await self._call("auth.test", reads=True)
        return CheckResult(
            True,
            f"signed in as {me.get('user')} in {me.get('team')}",
            {"team_id": me.get("team_id"), "user_id": me.get("user_id"), "url": me.get("url")},
        )

    @action("chat.post", SideEffect.WRITE)
    async def post_message(
        self,
        channel: Annotated[str, "Channel id (C…), a DM id, or #name."],
        text: Annotated[str, "The message text (also the notification fallback when blocks are given)."],
        blocks: Annotated[list[dict[str, Any]] | None, "Block Kit blocks."] = None,
        thread_ts: Annotated[str | None, "Reply in this message's thread (its ts)."] = None,
    ) -> dict[str, Any]:
        """Post a message to a channel or a thread (Block Kit blocks optional)."""
        payload: dict[str, Any] = {"channel": channel, "text": text}
        if blocks:
            payload["blocks"] = blocks
        if thread_ts:
            payload["thread_ts"] = thread_ts
        return _message(await self._call("chat.postMessage", json=payload))

    @action("chat.update", SideEffect.WRITE)
    async def update_message(
        self,
        channel: Annotated[str, "The channel id of the message."],
        ts: Annotated[str, "The message's ts."],
        text: Annotated[str, "The new text."],
        blocks: Annotated[list[dict[str, Any]] | None, "New Block Kit blocks."] = None,
    ) -> dict[str, Any]:
        """Replace a message's text (and blocks)."""
        payload: dict[str, Any] = {"channel": channel, "ts": ts, "text": text}
        if blocks is not None:
            payload["blocks"] = blocks
        body = await self._call("chat.update", json=payload)
        return {"channel": body.get("channel"), "ts": body.get("ts"), "text": body.get("text")}

    @action("conversations.list")
    async def list_channels(
        self,
        types: Annotated[
            str, "public_channel, private_channel, mpim, im (comma-separated)."
        ] = "public_channel",
        limit: Annotated[int, "How many channels at most."] = 200,
        exclude_archived: bool = True,
    ) -> list[dict[str, Any]]:
        """Channels of the workspace (all pages, up to `limit`)."""

        async def page(cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
            params: dict[str, Any] = {"types": types, "limit": min(200, max(1, limit))}
            params["exclude_archived"] = "true" if exclude_archived else "false"
            if cursor:
                params["cursor"] = cursor
            body = await self._call("conversations.list", "GET", params=params)
            cursor = (body.get("response_metadata") or {}).get("next_cursor") or None
            return [_channel(c) for c in body.get("channels", [])], cursor

        return await collect_cursor(page, limit=limit)

    @action("conversations.join", SideEffect.WRITE)
    async def join_channel(self, channel: Annotated[str, "The channel id (C…)."]) -> dict[str, Any]:
        """Add the bot to a public channel."""
        body = await self._call("conversations.join", json={"channel": channel})
        return _channel(body.get("channel") or {})

    @action("users.lookup_by_email")
    async def lookup_user(self, email: Annotated[str, "The person's email address."]) -> dict[str, Any]:
        """The Slack user with this email."""
        return _user((await self._call("users.lookupByEmail", "GET", params={"email": email}))["user"])

    @action("users.info")
    async def user_info(self, user: Annotated[str, "The user id (U… or W…)."]) -> dict[str, Any]:
        """A Slack user's profile."""
        return _user((await self._call("users.info", "GET", params={"user": user}))["user"])

    @action("files.upload", SideEffect.WRITE)
    async def upload_file(
        self,
        filename: Annotated[str, "The file's name as shown in Slack."],
        content: Annotated[str, "The file's text content."],
        channel: Annotated[str | None, "Share it in this channel id."] = None,
        title: Annotated[str | None, "A title."] = None,
        initial_comment: Annotated[str | None, "A message posted with it."] = None,
        thread_ts: Annotated[str | None, "Share it in this thread."] = None,
    ) -> dict[str, Any]:
        """Upload a text file (files.getUploadURLExternal, the upload, files.completeUploadExternal)."""
        return await self.upload_bytes(
            filename,
            content.encode(),
            channel=channel,
            title=title,
            initial_comment=initial_comment,
            thread_ts=thread_ts,
        )

    async def upload_bytes(
        self,
        filename: str,
        data: bytes,
        *,
        channel: str | None = None,
        title: str | None = None,
        initial_comment: str | None = None,
        thread_ts: str | None = None,
    ) -> dict[str, Any]:
        """Upload any file (a report's PNG chart) by the external upload flow; `files.upload` is its text form."""
        ticket = await self._call(
            "files.getUploadURLExternal", data={"filename": filename, "length": str(len(data))}
        )
        upload_url = str(ticket.get("upload_url", ""))
        host = httpx.URL(upload_url).host
        if not (host == httpx.URL(self.http.base_url).host or host.endswith(".slack.com")):
            raise ConnectorInvalid(
                f"Slack gave an upload URL on an unexpected host ({host[:60]})", service="Slack"
            )
        await self.http.request(
            "POST", upload_url, content=data, headers={"Content-Type": "application/octet-stream"}
        )
        complete: dict[str, Any] = {"files": [{"id": ticket["file_id"], "title": title or filename}]}
        for key, value in (
            ("channel_id", channel),
            ("initial_comment", initial_comment),
            ("thread_ts", thread_ts),
        ):
            if value:
                complete[key] = value
        body = await self._call("files.completeUploadExternal", json=complete)
        return {"files": [{"id": f.get("id"), "title": f.get("title")} for f in body.get("files", [])]}

    async def post_approval(
        self, approval_id: str, tool: str, summary: str, channel: str | None = None
    ) -> dict[str, Any]:
        """Post the approve/deny message for one held call (to `channel` or the `approvals_channel` option)."""
        where = channel or self.options.get("approvals_channel")
        if not where:
            raise ConnectorInvalid(
                f"{self.name}: set options.approvals_channel to the channel approval requests go to",
                service="Slack",
            )
        return await self.post_message(
            str(where), f"Approval needed: {tool}", approval_blocks(approval_id, tool, summary)
        )

    def announces_approvals(self) -> bool:
        return bool(self.options.get("approvals_channel"))

    async def announce_approval(self, approval_id: str, tool: str, summary: str) -> None:
        await self.post_approval(approval_id, tool, summary)

    def _approver(self, slack_user: str) -> str | None:
        approvers = self.options.get("approvers") or {}
        found = approvers.get(slack_user) if isinstance(approvers, dict) else None
        return found if isinstance(found, str) and found else None

    def verify_webhook(self, headers: dict[str, str], body: bytes, secret: str) -> WebhookEvent:
        verify_slack(secret, body, headers.get("x-slack-request-timestamp"), headers.get("x-slack-signature"))
        if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
            if "payload" in form:
                return self._interaction(_json_object(form["payload"]))
            command = form.get("command", "").lstrip("/")
            if not command:
                raise WebhookRefused("the Slack form carries neither a command nor a payload")
            return WebhookEvent(
                type=f"command.{command}",
                id=form.get("trigger_id", ""),
                payload={
                    k: form[k] for k in ("command", "text", "user_id", "channel_id", "team_id") if k in form
                },
                summary=form.get("text", "")[:500],
            )
        payload = _json_object(body.decode("utf-8", "replace"))
        if payload.get("type") == "url_verification":
            return WebhookEvent("url_verification", "", {}, reply={"challenge": payload.get("challenge", "")})
        event = payload.get("event") or {}
        return WebhookEvent(
            type=f"event.{event.get('type', payload.get('type', 'unknown'))}",
            id=str(payload.get("event_id", "")),
            payload=payload,
            summary=str(event.get("text", ""))[:500],
        )

    def _interaction(self, payload: dict[str, Any]) -> WebhookEvent:
        kind = str(payload.get("type", "interaction"))
        user = str((payload.get("user") or {}).get("id", ""))
        actions = payload.get("actions") or []
        first = actions[0] if actions and isinstance(actions[0], dict) else {}
        decision = None
        if first.get("action_id") in (APPROVE_ACTION, DENY_ACTION) and first.get("value"):
            decision = ApprovalDecision(
                approval_id=str(first["value"]),
                approve=first["action_id"] == APPROVE_ACTION,
                external_user=user,
                user=self._approver(user),
            )
        return WebhookEvent(
            type=f"interaction.{kind}",
            id=str(first.get("action_ts") or payload.get("trigger_id", "")) + f":{user}",
            payload={
                "type": kind,
                "user": user,
                "action_id": first.get("action_id"),
                "value": first.get("value"),
            },
            summary=f"{user} clicked {first.get('action_id', '')}",
            decision=decision,
        )


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        raise WebhookRefused("the Slack request body is not JSON") from None
    if not isinstance(value, dict):
        raise WebhookRefused("the Slack request body is not a JSON object")
    return value
