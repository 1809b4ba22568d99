"""The process's configured connectors: built from `[connectors.*]`, checked, and turned into tools."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from sophia.config import ConnectorSettings, Settings
from sophia.connectors._errors import ConnectorError, ConnectorNotConfigured, UnknownConnector
from sophia.connectors._http import ConnectorHttp
from sophia.connectors._kinds import connector_kind
from sophia.connectors._model import CheckResult, Connector
from sophia.connectors._ratelimit import RateGate
from sophia.connectors._tools import register_connector_tools
from sophia.errors import SecretError
from sophia.gateway import RetryPolicy
from sophia.secrets import SecretResolver
from sophia.tools import ToolRegistry

__all__ = ["ConnectorInfo", "Connectors", "build_connector"]


@dataclass(frozen=True, slots=True)
class ConnectorInfo:
    name: str
    kind: str
    title: str
    group: str
    base_url: str
    actions: list[dict[str, str]]
    missing_credentials: list[str]
    rate_limit: dict[str, Any]
    webhooks: bool

    def to_record(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "title": self.title,
            "group": self.group,
            "base_url": self.base_url,
            "actions": self.actions,
            "missing_credentials": self.missing_credentials,
            "rate_limit": self.rate_limit,
            "webhooks": self.webhooks,
        }


def credential_resolver(
    name: str, settings: ConnectorSettings, secrets: SecretResolver
) -> Callable[[str], str]:
    """credential name -> value, or ConnectorNotConfigured naming the setting to add or the reference to fix."""

    def resolve(credential: str) -> str:
        ref = settings.credentials.get(credential)
        if ref is None:
            raise ConnectorNotConfigured(
                f"{name}: credentials.{credential} is not set; add it under [connectors.{name}.credentials]"
                " as a secret reference (env:NAME, secret:NAME, …)",
                service=name,
            )
        try:
            return secrets.resolve(ref)
        except SecretError as error:
            raise ConnectorNotConfigured(
                f"{name}: credentials.{credential} cannot be read ({error.message})", service=name
            ) from None

    return resolve


def build_connector(
    name: str,
    settings: ConnectorSettings,
    secrets: SecretResolver,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Connector:
    kind = connector_kind(settings.kind or name)
    http = ConnectorHttp(
        kind.title,
        settings.base_url or kind.default_base_url,
        timeout=settings.timeout_seconds,
        retry=RetryPolicy(
            max_retries=settings.max_retries,
            base_delay=0.5,
            max_delay=20.0,
            max_retry_after=settings.max_rate_limit_wait_seconds,
        ),
        gate=RateGate(
            requests_per_second=settings.requests_per_second or kind.default_requests_per_second,
            max_wait=settings.max_rate_limit_wait_seconds,
        ),
        transport=transport,
        idempotency_header=kind.idempotency_header,
        headers=dict(kind.default_headers),
    )
    connector = kind(name, settings, http)
    resolve = credential_resolver(name, settings, secrets)
    connector.bind_credentials(resolve)
    http.auth = connector.build_auth(resolve, secrets)
    return connector


class Connectors:
    """Configured and enabled connectors by instance name."""

    def __init__(self, items: dict[str, Connector]) -> None:
        self._items = items

    @classmethod
    def open(
        cls,
        settings: Settings,
        secrets: SecretResolver | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> Connectors:
        resolver = secrets or SecretResolver.for_settings(settings)
        items = {
            name: build_connector(name, section, resolver, transport=transport)
            for name, section in sorted(settings.connectors.items())
            if section.enabled
        }
        return cls(items)

    def __iter__(self) -> Iterator[Connector]:
        return iter(self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def names(self) -> list[str]:
        return list(self._items)

    def get(self, name: str) -> Connector:
        found = self._items.get(name)
        if found is None:
            close = difflib.get_close_matches(name, list(self._items), n=1, cutoff=0.6)
            hint = f' — did you mean "{close[0]}"?' if close else ""
            configured = ", ".join(self._items) or "none"
            raise UnknownConnector(
                f'no connector named "{name[:40]}" is configured{hint} (configured: {configured})',
                service=name,
            )
        return found

    def register_tools(self, registry: ToolRegistry) -> int:
        return sum(register_connector_tools(registry, connector) for connector in self)

    async def check(self, name: str) -> CheckResult:
        """The connector's own check; a failure is a result (with the typed error's code), never an exception."""
        try:
            return await self.get(name).check()
        except UnknownConnector:
            raise
        except ConnectorError as error:
            return CheckResult(False, error.message, {"code": error.code, "status": error.status})

    def info(self, name: str) -> ConnectorInfo:
        connector = self.get(name)
        missing = [
            c.name
            for c in connector.credentials
            if c.required and c.name not in connector.settings.credentials
        ]
        actions = [
            {"name": f"{name}.{spec.name}", "effect": spec.effect.value}
            for spec, _ in connector.action_methods()
        ]
        return ConnectorInfo(
            name=name,
            kind=connector.kind,
            title=connector.title,
            group=connector.group,
            base_url=connector.http.base_url,
            actions=actions,
            missing_credentials=missing,
            rate_limit=connector.http.gate.state().to_record(),
            webhooks=connector.receives_webhooks(),
        )

    async def aclose(self) -> None:
        for connector in self:
            await connector.aclose()
