"""Stand-in HubSpot, Salesforce and Gong servers serving one generated business, and helpers to sync from them.

    business = generate(7, "small")
    with hubspot_standin(business) as service:          # also salesforce_standin, gong_standin
        connector = connect(service)                    # a real connector pointed at it (Bearer/OAuth/Basic)
        records = await pull(connector)                 # every stream's sync pages, in order

Each stand-in is a real HTTP server on 127.0.0.1 (tests/serving.py `serve_app`) that pages, refuses every
`throttle_every`-th request the way the service does (429, or 503 for Salesforce), and expires OAuth tokens after
`token_uses` requests. `service.traffic` counts what happened; `service.data` is the business in the service's
shapes (with `ids`: generator id → service id) and can be changed between syncs.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from sophia.config import ConnectorSettings
from sophia.connectors import Connector, SyncRecord, build_connector
from sophia.secrets import SecretResolver
from tests.business.generator import Business
from tests.business.standin_hubspot import (
    CLIENT_ID,
    CLIENT_SECRET,
    PRIVATE_TOKEN,
    REFRESH_TOKEN,
    HubSpotData,
    hubspot_app,
)
from tests.business.standin_kit import Faults, Traffic
from tests.business.standin_salesforce import CLIENT_ID as SF_CLIENT_ID
from tests.business.standin_salesforce import CLIENT_SECRET as SF_CLIENT_SECRET
from tests.business.standin_salesforce import REFRESH_TOKEN as SF_REFRESH
from tests.business.standin_salesforce import USERNAME as SF_USERNAME
from tests.business.standin_salesforce import SalesforceData, salesforce_app
from tests.serving import serve_app

__all__ = ["Standin", "connect", "hubspot_standin", "pull", "salesforce_standin"]


@dataclass
class Standin:
    kind: str
    url: str
    data: Any
    faults: Faults
    credentials: dict[str, str]
    """Credential name → its value, for `connect`."""
    options: dict[str, Any] = field(default_factory=dict)
    """`[connectors.NAME] options` the connector needs for this stand-in (Salesforce's JWT username)."""

    @property
    def traffic(self) -> Traffic:
        return self.faults.traffic


@contextmanager
def hubspot_standin(
    business: Business, *, throttle_every: int | None = 13, token_uses: int | None = 40, oauth: bool = True
) -> Iterator[Standin]:
    """HubSpot; `oauth=False` gives a private-app token instead of the OAuth refresh flow."""
    faults = Faults(throttle_every, token_uses)
    data = HubSpotData(business)
    credentials = (
        {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "refresh_token": REFRESH_TOKEN}
        if oauth
        else {"token": PRIVATE_TOKEN}
    )
    with serve_app(hubspot_app(data, faults)) as url:
        yield Standin("hubspot", url, data, faults, credentials)


@contextmanager
def salesforce_standin(
    business: Business, *, throttle_every: int | None = 13, token_uses: int | None = 40, jwt: bool = True
) -> Iterator[Standin]:
    """Salesforce; `jwt=True` authenticates with the JWT bearer flow (a fresh RSA key), else a refresh token.
    Its "now and then" failure is a 503 (Salesforce answers API-limit trouble with 403/503, not 429)."""
    faults = Faults(throttle_every, token_uses)
    data = SalesforceData(business)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if jwt:
        pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
        credentials, options = {"client_id": SF_CLIENT_ID, "private_key": pem}, {"username": SF_USERNAME}
    else:
        credentials = {
            "client_id": SF_CLIENT_ID,
            "client_secret": SF_CLIENT_SECRET,
            "refresh_token": SF_REFRESH,
        }
        options = {}
    with serve_app(salesforce_app(data, faults, key.public_key())) as url:
        yield Standin("salesforce", url, data, faults, credentials, options)


class _NoSleep:
    """Retries and rate-limit waits recorded, not slept: the stand-in's throttle must not slow the suite."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def connect(
    service: Standin, home: Path | None = None, *, name: str | None = None, **options: Any
) -> Connector:
    """A real connector of the stand-in's kind, configured the way sophia.toml would, pointed at it."""
    refs = {key: f"env:STANDIN_{key.upper()}" for key in service.credentials}
    environ = {f"STANDIN_{key.upper()}": value for key, value in service.credentials.items()}
    settings = ConnectorSettings(
        kind=service.kind,
        base_url=service.url,
        credentials=refs,
        options={**service.options, **options},
        requests_per_second=1000,
    )
    resolver = SecretResolver(home or Path(os.environ["SOPHIA_HOME"]), environ=environ)
    connector = build_connector(name or service.kind, settings, resolver)
    sleeps = _NoSleep()
    connector.http._sleep = sleeps
    connector.http.gate._sleep = sleeps
    return connector


async def pull(
    connector: Any, *, since: datetime | None = None, streams: list[str] | None = None
) -> list[SyncRecord]:
    """Every record of every stream (or of `streams`), page by page as a sync engine would ask for them."""
    records: list[SyncRecord] = []
    for stream in streams or connector.sync_streams():
        cursor: str | None = None
        while True:
            page = await connector.sync_page(stream, cursor, since=since)
            records.extend(page.records)
            if page.done:
                break
            cursor = page.cursor
    return records
