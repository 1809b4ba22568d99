"""GitHub App authentication: the app JWT (RS256, checked with the public key) buys an installation token that
authenticates the API calls, is renewed before it expires and after a 401, and never shows in an error."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from sophia.config import ConnectorSettings
from sophia.connectors import ConnectorAuthError, ConnectorNotConfigured, build_connector
from sophia.secrets import SecretResolver
from tests.connectors.github_standin import SPEC

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PEM = KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
).decode()


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


class App:
    """GitHub's side: checks the JWT and hands out installation tokens valid for `lifetime`."""

    def __init__(self, lifetime: timedelta) -> None:
        self.lifetime = lifetime
        self.issued: list[str] = []
        self.calls: list[tuple[str, str, str]] = []
        self.reject_next_user_call = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        SPEC.check(request.method, request.url.path, dict(request.url.params), body)
        auth = request.headers.get("authorization", "")
        self.calls.append((request.method, request.url.path, auth))
        if request.url.path == "/app/installations/456/access_tokens":
            header, payload, signature = auth.removeprefix("Bearer ").split(".")
            try:
                KEY.public_key().verify(
                    _unb64(signature), f"{header}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256()
                )
            except InvalidSignature:
                return httpx.Response(401, json={"message": "A JSON web token could not be decoded"})
            claims = json.loads(_unb64(payload))
            assert json.loads(_unb64(header)) == {"alg": "RS256", "typ": "JWT"}
            assert claims["iss"] == "123" and 0 < claims["exp"] - claims["iat"] <= 600
            assert claims["iat"] <= time.time()
            token = f"ghs_installation{len(self.issued)}fake"
            self.issued.append(token)
            expires = (datetime.now(UTC) + self.lifetime).strftime("%Y-%m-%dT%H:%M:%SZ")
            return httpx.Response(
                201,
                json={"token": token, "expires_at": expires, "permissions": {"contents": "write"},
                      "repository_selection": "selected"},
            )  # fmt: skip
        if not self.issued or auth != f"Bearer {self.issued[-1]}" or self.reject_next_user_call:
            self.reject_next_user_call = False
            return httpx.Response(401, json={"message": "Bad credentials"})
        return httpx.Response(
            200, json={"login": "sophia-app[bot]"}, headers={"x-ratelimit-remaining": "4999"}
        )


def _connector(home: Path, app: App, pem: str = PEM, **options: Any) -> Any:
    settings = ConnectorSettings(
        kind="github",
        base_url="https://api.github.test",
        credentials={"app_private_key": "env:GH_APP_KEY"},
        options={"app_id": "123", "installation_id": "456", **options},
    )
    secrets = SecretResolver(home, environ={"GH_APP_KEY": pem})
    return build_connector("github", settings, secrets, transport=httpx.MockTransport(app))


async def test_the_installation_token_authenticates_and_is_reused_while_fresh(tmp_path: Path) -> None:
    app = App(timedelta(hours=1))
    github = _connector(tmp_path, app)
    assert (await github.check()).detail["login"] == "sophia-app[bot]"
    assert (await github.check()).ok
    exchanges = [c for c in app.calls if c[1].endswith("/access_tokens")]
    assert len(exchanges) == 1 and await github.git_token() == app.issued[0]


async def test_a_token_near_expiry_or_refused_is_renewed(tmp_path: Path) -> None:
    app = App(timedelta(minutes=4))  # inside the five-minute renewal margin: every use renews
    github = _connector(tmp_path, app)
    await github.check()
    await github.check()
    assert len(app.issued) == 2
    fresh = App(timedelta(hours=1))
    github = _connector(tmp_path, fresh)
    await github.check()
    fresh.reject_next_user_call = True  # GitHub revoked the token: one renewal, then the retry succeeds
    assert (await github.check()).ok and len(fresh.issued) == 2


async def test_a_wrong_key_or_missing_options_are_clear_errors_that_show_no_secret(tmp_path: Path) -> None:
    with pytest.raises(ConnectorNotConfigured, match="installation_id"):
        _connector(tmp_path, App(timedelta(hours=1)), installation_id="")
    with pytest.raises(ConnectorNotConfigured, match="not a PEM private key"):
        await _connector(tmp_path, App(timedelta(hours=1)), pem="not a key").check()
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    stranger = other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    with pytest.raises(ConnectorAuthError) as refused:
        await _connector(tmp_path, App(timedelta(hours=1)), pem=stranger).check()
    assert "BEGIN" not in refused.value.message and "eyJ" not in refused.value.message
