"""`[connectors.NAME]`: one configured external service (GitHub, Slack, …) whose actions become tools.

It lives in core so `Settings` can hold it; `sophia.connectors` reads it. Credentials are secret references only.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, HttpUrl, field_validator

from sophia.config._durations import seconds

__all__ = ["CONNECTOR_NAME", "ConnectorSettings", "EventTrigger"]

CONNECTOR_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_CREDENTIAL_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_REF = re.compile(r"^(env|secret|file|vault|esc):.+$")
_EVENT = re.compile(r"^(\*|[a-z0-9_]+(\.[a-z0-9_*]+)*)$")


def _check_base_url(value: str | None) -> str | None:
    if value is None:
        return None
    url = HttpUrl(value)
    if url.username or url.password:
        raise ValueError("a base URL must not hold credentials; put them in `credentials` as references")
    return value.rstrip("/")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EventTrigger(_Section):
    """Start an agent run when an inbound event of this type arrives (`{event}` and `{summary}` are filled in)."""

    prompt: str = Field(
        min_length=1, max_length=4000, description="The run's prompt; may use {event}, {summary}."
    )
    agent: str = Field(default="chat", description="The agent that runs it.")


class ConnectorSettings(_Section):
    """One service. The table name (`[connectors.work_github]`) names the instance; `kind` says which service."""

    kind: str | None = Field(
        default=None, description="The service (github, slack, …); default: the table's own name."
    )
    enabled: bool = True
    base_url: Annotated[str | None, AfterValidator(_check_base_url)] = Field(
        default=None, description="Override the service's API root (self-hosted installs, test servers)."
    )
    credentials: dict[str, str] = Field(
        default_factory=dict,
        description="Credential name (token, client_secret, …) -> secret reference (env:, secret:, file:, …).",
    )
    options: dict[str, Any] = Field(default_factory=dict, description="Service-specific options.")
    timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    max_retries: int = Field(default=3, ge=0, le=10, description="Retries of a 429/5xx/network failure.")
    requests_per_second: float | None = Field(
        default=None,
        gt=0,
        le=1000,
        description="A client-side pace on top of the service's own limit headers.",
    )
    max_rate_limit_wait_seconds: float = Field(
        default=60.0,
        ge=0,
        le=3600,
        description="Longest wait for a rate-limit reset before failing the call.",
    )
    sync_every: Annotated[float, BeforeValidator(seconds), Field(ge=0)] = Field(
        default=0.0,
        description='Sync this connector (if it is syncable) every period, e.g. "15m"; "off" or 0: only on demand.',
    )
    on_event: dict[str, EventTrigger] = Field(
        default_factory=dict,
        description="Inbound event type (e.g. pull_request.opened, or *) -> a run to start.",
    )

    @field_validator("credentials")
    @classmethod
    def _check_credentials(cls, value: dict[str, str]) -> dict[str, str]:
        for name, ref in value.items():
            if not _CREDENTIAL_NAME.match(name):
                raise ValueError(f"credential name {name[:40]!r} must be a lower-case word")
            if not _REF.match(ref):
                raise ValueError(
                    f"credentials.{name} must be a secret reference (env:NAME, secret:NAME, file:/path,"
                    " vault:PATH#KEY or esc:PROJECT/ENV#KEY), never the secret itself"
                )
        return value

    @field_validator("on_event")
    @classmethod
    def _check_events(cls, value: dict[str, EventTrigger]) -> dict[str, EventTrigger]:
        for event in value:
            if not _EVENT.match(event):
                raise ValueError(
                    f"event type {event[:60]!r} must look like `push`, `pull_request.opened` or `*`"
                )
        return value
