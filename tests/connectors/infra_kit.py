"""Building a real service connector against a SpecService double, with retries recorded instead of slept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from sophia.config import ConnectorSettings
from sophia.connectors import Connector, build_connector
from sophia.secrets import SecretResolver
from tests.connectors.openapi import SpecService

DATA = Path(__file__).with_name("data")


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def connect(home: Path, kind: str, token: str, service: SpecService, **options: Any) -> Connector:
    settings = ConnectorSettings(
        kind=kind,
        credentials={"token": "env:SERVICE_TOKEN"},
        requests_per_second=1000,
        **options,
    )
    resolver = SecretResolver(home, environ={"SERVICE_TOKEN": token})
    connector = build_connector(kind, settings, resolver, transport=httpx.MockTransport(service))
    sleeps = Sleeps()
    connector.http._sleep = sleeps
    connector.http.gate._sleep = sleeps
    return connector
