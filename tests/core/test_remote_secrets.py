"""vault:PATH#KEY and esc:PROJECT/ENV#KEY against the documented HTTP shapes (httpx MockTransport)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from sophia.config import EscSettings, VaultSettings, load_settings
from sophia.errors import SecretError
from sophia.observability import redactor
from sophia.secrets import HashiCorpVault, PulumiEsc, SecretResolver


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeVault:
    """Vault's KV v2, AppRole login and token renewal, as the HTTP API documents them."""

    def __init__(self) -> None:
        self.secrets: dict[str, dict[str, str]] = {"sophia/db": {"url": "postgresql://u:pw-one@db/sophia"}}
        self.calls: list[str] = []
        self.tokens = {"t-approle-1"}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(f"{request.method} {request.url.path}")
        if request.url.path == "/v1/auth/approle/login":
            body = json.loads(request.content)
            assert body == {"role_id": "role-1", "secret_id": "sid-1"}
            auth = {"client_token": "t-approle-1", "lease_duration": 600, "renewable": True}
            return httpx.Response(200, json={"auth": auth})
        if request.headers.get("x-vault-token") not in self.tokens:
            return httpx.Response(403, json={"errors": ["permission denied"]})
        if request.url.path == "/v1/auth/token/renew-self":
            auth = {"client_token": "t-approle-1", "lease_duration": 600, "renewable": True}
            return httpx.Response(200, json={"auth": auth})
        path = request.url.path.removeprefix("/v1/secret/data/")
        if path not in self.secrets:
            return httpx.Response(404, json={"errors": []})
        return httpx.Response(200, json={"data": {"data": self.secrets[path], "metadata": {"version": 1}}})


def approle_vault(fake: FakeVault, clock: Clock) -> HashiCorpVault:
    settings = VaultSettings(
        address="https://vault.test:8200", role_id="env:VAULT_ROLE_ID", secret_id="env:VAULT_SECRET_ID"
    )
    local = SecretResolver(Path("."), environ={"VAULT_ROLE_ID": "role-1", "VAULT_SECRET_ID": "sid-1"})
    return HashiCorpVault(settings, local.resolve, transport=httpx.MockTransport(fake), clock=clock)


def test_vault_reads_kv2_with_approle_and_caches_for_a_bounded_time() -> None:
    fake, clock = FakeVault(), Clock()
    vault = approle_vault(fake, clock)
    resolver = SecretResolver(Path("."), remote={"vault": vault})
    assert resolver.resolve("vault:sophia/db#url") == "postgresql://u:pw-one@db/sophia"
    assert resolver.resolve("vault:sophia/db#url") == "postgresql://u:pw-one@db/sophia"
    assert fake.calls == ["POST /v1/auth/approle/login", "GET /v1/secret/data/sophia/db"]
    fake.secrets["sophia/db"] = {"url": "postgresql://u:pw-two@db/sophia"}  # rotated in Vault
    assert resolver.resolve("vault:sophia/db#url").endswith("pw-one@db/sophia")  # still cached
    clock.now += 61
    assert resolver.resolve("vault:sophia/db#url") == "postgresql://u:pw-two@db/sophia"


def test_vault_renews_its_token_after_half_the_lease_and_logs_in_again_when_refused() -> None:
    fake, clock = FakeVault(), Clock()
    vault = approle_vault(fake, clock)
    vault.read("sophia/db#url")
    clock.now += 301
    vault.read("sophia/db#url")
    assert "POST /v1/auth/token/renew-self" in fake.calls
    fake.tokens.clear()  # the token was revoked: the next read logs in once more
    clock.now += 61
    fake.calls.clear()
    with pytest.raises(SecretError, match="HTTP 403"):
        vault.read("sophia/db#url")
    assert fake.calls.count("POST /v1/auth/approle/login") == 1


def test_vault_errors_name_the_reference_and_never_a_value_or_token() -> None:
    fake, clock = FakeVault(), Clock()
    resolver = SecretResolver(Path("."), remote={"vault": approle_vault(fake, clock)})
    with pytest.raises(SecretError, match="vault:sophia/db has no key password") as missing_key:
        resolver.resolve("vault:sophia/db#password")
    with pytest.raises(SecretError, match="does not exist") as missing_path:
        resolver.resolve("vault:sophia/none#url")
    with pytest.raises(SecretError, match="PATH#KEY"):
        resolver.resolve("vault:sophia/db")
    for error in (missing_key.value, missing_path.value):
        assert "pw-one" not in str(error) and "t-approle-1" not in str(error) and "sid-1" not in str(error)
    assert resolver.resolve("vault:sophia/db#url")  # a value read from Vault is registered with the redactor
    assert "pw-one" not in redactor.redact("url=postgresql://u:pw-one@db/sophia")


def test_vault_token_auth_looks_up_its_ttl() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        assert request.headers["x-vault-token"] == "hvs.static-token-value"
        if request.url.path == "/v1/auth/token/lookup-self":
            return httpx.Response(200, json={"data": {"ttl": 0, "renewable": False}})
        return httpx.Response(200, json={"data": {"data": {"key": "v1"}}})

    settings = VaultSettings(address="https://vault.test", token="env:VAULT_TOKEN", mount="kv")
    local = SecretResolver(Path("."), environ={"VAULT_TOKEN": "hvs.static-token-value"})
    vault = HashiCorpVault(settings, local.resolve, transport=httpx.MockTransport(handler))
    assert vault.read("app#key") == "v1"
    assert seen == ["/v1/auth/token/lookup-self", "/v1/kv/data/app"]


def test_esc_opens_the_environment_and_reads_a_property() -> None:
    values: dict[str, Any] = {"apiKey": {"value": "sk-esc-one", "secret": True}, "port": {"value": 5432}}
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(f"{request.method} {request.url.path}")
        assert request.headers["authorization"] == "token pul-token-value"
        if request.method == "POST":
            return httpx.Response(200, json={"id": "open-7", "diagnostics": []})
        return httpx.Response(200, json={"properties": values})

    clock = Clock()
    settings = EscSettings(organization="acme", token="env:PULUMI_ACCESS_TOKEN")
    local = SecretResolver(Path("."), environ={"PULUMI_ACCESS_TOKEN": "pul-token-value"})
    esc = PulumiEsc(settings, local.resolve, transport=httpx.MockTransport(handler), clock=clock)
    resolver = SecretResolver(Path("."), remote={"esc": esc})
    assert resolver.resolve("esc:sophia/prod#apiKey") == "sk-esc-one"
    assert resolver.resolve("esc:sophia/prod#port") == "5432"
    assert calls == [
        "POST /api/esc/environments/acme/sophia/prod/open",
        "GET /api/esc/environments/acme/sophia/prod/open/open-7",
    ]
    values["apiKey"] = {"value": "sk-esc-two", "secret": True}
    clock.now += 61
    assert resolver.resolve("esc:sophia/prod#apiKey") == "sk-esc-two"
    with pytest.raises(SecretError, match="PROJECT/ENVIRONMENT"):
        resolver.resolve("esc:prod#apiKey")


def test_settings_file_wires_vault_references_and_unset_managers_are_clear(tmp_path: Path) -> None:
    config = tmp_path / "sophia.toml"
    config.write_text(
        '[storage]\nurl = "vault:sophia/db#url"\n'
        '[secrets.vault]\naddress = "http://127.0.0.1:9"\ntoken = "env:VAULT_TOKEN"\ncache_seconds = 30\n'
    )
    settings = load_settings(config)
    assert settings.secrets.vault is not None and settings.secrets.vault.cache_seconds == 30
    resolver = SecretResolver.for_settings(settings)
    with pytest.raises(SecretError, match="environment variable VAULT_TOKEN is not set"):
        resolver.resolve(settings.storage.url or "")
    with pytest.raises(SecretError, match=r"needs \[secrets.esc\]"):
        resolver.resolve("esc:sophia/prod#key")
