"""Compose, Fly.io and the Lambda GPU recipe name real commands, real settings and real routes."""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from sophia.config import Settings
from tests.serving import clean_env, sophia

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def assert_real_setting(variable: str) -> None:
    if variable in ("SOPHIA_HOME", "SOPHIA_CONFIG", "SOPHIA_MASTER_KEY"):
        return
    section, _, field = variable.removeprefix("SOPHIA_").lower().partition("__")
    model: Any = Settings.model_fields[section].annotation
    assert field in model.model_fields, f"{variable} is not a Sophia setting"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return data


def test_compose_starts_in_health_order_with_file_secrets(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["sophia"]["command"] == ["serve"] and services["worker"]["command"] == ["worker"]
    for name in ("sophia", "worker"):
        for dependency, rule in services[name]["depends_on"].items():
            assert rule == {"condition": "service_healthy"}, (name, dependency)
            assert "healthcheck" in services[dependency] or dependency == "sophia"
    assert "sophia" in services["worker"]["depends_on"]  # serve migrates first
    for variable, value in services["sophia"]["environment"].items():
        assert_real_setting(variable)
        assert not re.search(r"://[^/]*:[^@/]+@", str(value)), "a password in the compose file"
    assert services["sophia"]["environment"]["SOPHIA_STORAGE__URL"] == "file:/run/secrets/database_url"
    assert {s: compose["secrets"][s]["file"] for s in services["sophia"]["secrets"]} == {
        "database_url": "./secrets/database_url",
        "master_key": "./secrets/master_key",
        "runs_seal_key": "./secrets/runs_seal_key",
    }
    # API and worker seal and open held tool calls with one key, from a secret file (not a per-home file).
    assert services["sophia"]["environment"]["SOPHIA_RUNS__SEAL_KEY"] == "file:/run/secrets/runs_seal_key"
    assert compose["x-sophia"]["secrets"] == services["worker"]["secrets"] == services["sophia"]["secrets"]
    assert services["postgres"]["image"].startswith("pgvector/pgvector:")
    assert services["qdrant"]["profiles"] == ["qdrant"]


def test_compose_secrets_init_writes_private_files_once(tmp_path: Path) -> None:
    import shutil
    import subprocess

    folder = tmp_path / "secrets"
    folder.mkdir()
    script = folder / "init"
    shutil.copy(DEPLOY / "secrets" / "init", script)
    subprocess.run([str(script)], check=True, capture_output=True)
    first = {p.name: p.read_text() for p in folder.iterdir() if p.name != "init"}
    subprocess.run([str(script)], check=True, capture_output=True)
    assert first == {p.name: p.read_text() for p in folder.iterdir() if p.name != "init"}
    assert (
        first["database_url"].strip().endswith(f":{first['postgres_password'].strip()}@postgres:5432/sophia")
    )
    assert all((folder / name).stat().st_mode & 0o077 == 0 for name in first)
    if os.geteuid() == 0:  # the image's user (uid 10001) must be able to read its two files
        assert {(folder / n).stat().st_uid for n in ("database_url", "master_key", "runs_seal_key")} == {
            10001
        }
    from sophia.runs import load_sealing_key
    from sophia.secrets import decode_key

    assert len(decode_key(first["master_key"], "master_key")) == 32
    sealing = Settings(runs={"seal_key": f"file:{folder / 'runs_seal_key'}"})
    assert load_sealing_key(sealing).hex() == first["runs_seal_key"].strip()


def test_fly_runs_serve_and_worker_with_release_migrations_and_a_readiness_check(tmp_path: Path) -> None:
    fly = tomllib.loads((DEPLOY / "fly" / "fly.toml").read_text())
    assert fly["processes"] == {"app": "serve", "worker": "worker"}
    assert fly["deploy"]["release_command"] == "db upgrade"
    assert fly["http_service"]["processes"] == ["app"]
    assert [c["path"] for c in fly["http_service"]["checks"]] == ["/readyz"]
    for variable in fly["env"]:
        assert_real_setting(variable)
    assert fly["env"]["SOPHIA_RUNS__SEAL_KEY"] == "env:RUNS_SEAL_KEY"  # one key for app and worker machines
    env = clean_env(tmp_path)
    for command in (fly["deploy"]["release_command"], *fly["processes"].values()):
        assert sophia(env, *command.split(), "--help").returncode == 0


def lambda_snippet() -> str:
    readme = (DEPLOY / "lambda" / "README.md").read_text()
    blocks = re.findall(r"```toml\n(.*?)```", readme, re.DOTALL)
    assert len(blocks) == 1
    return blocks[0]


def test_lambda_provider_snippet_passes_config_check(tmp_path: Path) -> None:
    config = tmp_path / "sophia.toml"
    config.write_text(lambda_snippet())
    env = clean_env(tmp_path / "home", LAMBDA_VLLM_API_KEY="k-" + "x" * 30)
    result = sophia(env, "--config", str(config), "config", "check")
    assert "1 provider(s), 1 model(s)" in result.stdout
    del env["LAMBDA_VLLM_API_KEY"]
    missing = sophia(env, "--config", str(config), "config", "check", check=False)
    assert missing.returncode == 2 and "LAMBDA_VLLM_API_KEY" in missing.stdout + missing.stderr
